"""The catalogue of known wrong ways to implement EM for Gaussian mixtures.

Each entry has a stable id (used in ``grades.csv``'s ``diagnosis`` column and
in ``docs/misconceptions.md``) and a one-line, student-facing hint that points
at the equation in Bishop's PRML, chapter 9. How each is detected lives in the
checks (``grader.checks.gmm``): always from the student's numbers, never from
their source text.

A check names a diagnosed mistake as ``[id]`` in its message (:func:`hint`);
:func:`diagnosis_ids` reads those tokens back from any text a check produced,
and :func:`graded_cell_errors` collects that text from an autograded notebook.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Misconception:
    id: str
    quantity: str
    hint: str


#: Notebooks 01 and 02: the E-step and M-step of EM in 1D and 2D.
EM_STEPS = [
    Misconception(
        "sigma-is-variance",
        "sigma",
        "sigma[k] holds a variance: the M-step (eq. 9.25) gives sigma_k squared, so take its square root.",
    ),
    Misconception(
        "variance-as-scale",
        "gamma",
        "the E-step passes a variance where the density expects a standard deviation: "
        "norm.pdf's `scale` is sigma_k, not sigma_k**2 (eq. 9.23).",
    ),
    Misconception(
        "responsibilities-unnormalised",
        "gamma",
        "each row of gamma must be divided by its own sum over the components k (eq. 9.23), "
        "so that every data point's responsibilities add up to 1.",
    ),
    Misconception(
        "weights-missing-in-estep",
        "gamma",
        "the E-step numerator is pi_k times the Gaussian density (eq. 9.23): the mixing weight is missing.",
    ),
    Misconception(
        "mean-divided-by-n",
        "mu",
        "the new mean divides by N_k, the effective number of points of component k (eq. 9.24), "
        "not by the total number of points N.",
    ),
    Misconception(
        "variance-divided-by-n",
        "sigma",
        "the new variance divides by N_k (eq. 9.25), not by the total number of points N.",
    ),
    Misconception(
        "variance-unweighted",
        "sigma",
        "every squared deviation in the variance update is weighted by its responsibility gamma[n, k] (eq. 9.25).",
    ),
    Misconception(
        "old-mean-in-variance",
        "sigma",
        "the variance update uses the new mean mu_k computed in this M-step (eq. 9.25), "
        "so update mu[k] before sigma[k].",
    ),
    Misconception(
        "variance-bessel-corrected",
        "sigma",
        "the M-step variance divides by N_k (eq. 9.25), not N_k - 1: it is the maximum-likelihood estimate, "
        "not the unbiased sample variance.",
    ),
    Misconception(
        "sigma-mean-absolute-deviation",
        "sigma",
        "sigma_k is the square root of the weighted mean of squared deviations (eq. 9.25), "
        "not the weighted mean of absolute deviations |x_n - mu_k|.",
    ),
    Misconception(
        "covariance-divided-by-n",
        "cov",
        "the new covariance divides by N_k (eq. 9.25), not by the total number of points N.",
    ),
    Misconception(
        "covariance-unweighted",
        "cov",
        "each outer product (x_n - mu_k)(x_n - mu_k)^T in the covariance update is weighted by gamma[n, k] (eq. 9.25).",
    ),
    Misconception(
        "covariance-old-mean",
        "cov",
        "the covariance update uses the new mean mu_k from this M-step (eq. 9.25): update mu[k] first.",
    ),
    Misconception(
        "covariance-bessel-corrected",
        "cov",
        "the M-step covariance divides by N_k (eq. 9.25), not N_k - 1: it is the maximum-likelihood estimate, "
        "not the unbiased sample covariance.",
    ),
    Misconception(
        "weights-not-updated",
        "pi",
        "the mixing weights must be re-estimated in every M-step: pi_k = N_k / N (eq. 9.26).",
    ),
    Misconception(
        "weights-summed-over-components",
        "pi",
        "N_k sums component k's responsibilities over the points n (eq. 9.27), gamma.sum(axis=0); "
        "a sum over the components (axis=1) is 1 for every point.",
    ),
    Misconception(
        "weights-not-normalised",
        "pi",
        "pi_k is N_k divided by the number of points N (eq. 9.26), so the weights sum to 1.",
    ),
    Misconception(
        "loglik-wrong",
        "log_likelihoods",
        "the log-likelihood (eq. 9.14) is the sum over points n of log( sum over k of pi_k N(x_n | mu_k, ...) ): "
        "check the log, the axis of the inner sum and the weights.",
    ),
    Misconception(
        "history-aliased",
        "responsibilities_over_time",
        "the entries of responsibilities_over_time are all one and the same array: append gamma.copy(), not gamma, "
        "or the list only remembers the last iteration.",
    ),
]

#: One list per topic of the later notebooks; each is written next to the checks that detect its entries.
#: Notebook 03: the E-step and the log-likelihood in log space (logsumexp).
LOG_SPACE = [
    Misconception(
        "log-weight-missing",
        "log_weighted",
        "a[n, k] is the log of the whole E-step numerator pi_k N(x_n | mu_k, sigma_k^2) (eq. 9.23): "
        "the term ln pi_k is missing.",
    ),
    Misconception(
        "log-weight-not-logged",
        "log_weighted",
        "the log of pi_k N(x_n | mu_k, sigma_k^2) is ln pi_k + ln N(...) (eq. 9.23 in logs): "
        "add the log of the weight, not the weight itself.",
    ),
    Misconception(
        "logpdf-variance-as-scale",
        "log_weighted",
        "norm.logpdf's `scale` is the standard deviation sigma_k, not the variance sigma_k**2 (eq. 9.23).",
    ),
    Misconception(
        "log-of-underflowed-density",
        "log_weighted",
        "np.log(norm.pdf(...)) is -inf wherever the density has already underflowed to 0, far from every "
        "component: compute ln N(x_n | mu_k, sigma_k^2) directly, with norm.logpdf (eq. 9.23 in logs).",
    ),
    Misconception(
        "logsumexp-keepdims-missing",
        "log_norm",
        "logsumexp(..., axis=1) returns one value per point, shape (N,), which does not line up with the rows "
        "of the (N, K) array it is subtracted from: keepdims=True keeps it (N, 1) (eq. 9.23 in logs).",
    ),
    Misconception(
        "logsumexp-wrong-axis",
        "log_norm",
        "the normaliser of eq. (9.23) sums over the components k of each point: take the log-sum-exp along "
        "axis=1, not over the points (axis=0) or over the whole array.",
    ),
    Misconception(
        "exp-before-logsumexp",
        "log_gamma",
        "exponentiating a[n, k] before summing underflows to 0 for a point far from every component, whose log "
        "is then -inf: the log-sum-exp of eq. (9.23) must never leave log space, so use logsumexp.",
    ),
    Misconception(
        "log-gamma-divided",
        "log_gamma",
        "eq. (9.23) divides the numerator by the denominator, and in logs a division becomes a subtraction: "
        "ln gamma(z_nk) is a[n, k] minus the point's log-normaliser, not their quotient.",
    ),
    Misconception(
        "loglik-exp-before-log",
        "log_likelihood",
        "summing np.exp(a[n, k]) before the log underflows to 0 for a far point, whose log is -inf: compute the "
        "inner ln sum_k of eq. (9.14) with logsumexp.",
    ),
    Misconception(
        "loglik-logsumexp-axis",
        "log_likelihood",
        "eq. (9.14) takes each point's log-sum-exp over its components k (axis=1), then sums those over the "
        "points n: not over the points first, nor over the whole array at once.",
    ),
    Misconception(
        "loglik-sum-of-logs",
        "log_likelihood",
        "eq. (9.14) is a sum over n of the log of a sum over k: adding up the log numerators a[n, k] over both "
        "indices takes the log inside the inner sum.",
    ),
    Misconception(
        "loglik-weights-missing",
        "log_likelihood",
        "the mixture in eq. (9.14) weights each component by pi_k: the log-sum-exp runs over "
        "ln pi_k + ln N(x_n | mu_k, sigma_k^2), with ln pi_k.",
    ),
]
#: Notebook 04: k-means++ seeding, a stopping rule with patience, the best of several restarts.
INITIALISATION = [
    Misconception(
        "kmeanspp-distance-not-squared",
        "squared_distances",
        "k-means++ draws each next centre with probability proportional to D(x)^2, the squared distance to the "
        "nearest centre so far (the squared distance of eq. 9.1): do not take its square root.",
    ),
    Misconception(
        "kmeanspp-distance-to-last-centre",
        "squared_distances",
        "D(x) is the distance to the nearest of all the centres chosen so far (the min over j in eq. 9.2), "
        "not to the last one chosen: take the min over the centres.",
    ),
    Misconception(
        "kmeanspp-distance-summed-over-centres",
        "squared_distances",
        "D(x) is the distance to the nearest centre chosen so far (the min over j in eq. 9.2), "
        "not a sum over the centres: take the min over the centres.",
    ),
    Misconception(
        "kmeanspp-uniform-draws",
        "probabilities",
        "k-means++ draws the next centre with probability D(x)^2 / sum of D^2 over the points (eq. 9.1's squared "
        "distances), not uniformly: divide squared_distances by their sum.",
    ),
    Misconception(
        "kmeanspp-farthest-point",
        "probabilities",
        "k-means++ draws the next centre at random with probability D(x)^2 / sum of D^2 (eq. 9.1's squared "
        "distances); always taking the farthest point is deterministic and picks outliers: keep rng.choice.",
    ),
    Misconception(
        "gain-not-per-sample",
        "gains",
        "tol is a tolerance per sample: divide each gain of the log-likelihood (eq. 9.28) by n_samples, "
        "g_t = (l_t - l_(t-1)) / N.",
    ),
    Misconception(
        "convergence-without-patience",
        "converged",
        "the rule stops at the first small gain of the log-likelihood (eq. 9.28), which a plateau also has: "
        "the last `patience` per-sample gains must all be below tol.",
    ),
    Misconception(
        "patience-any-gain",
        "converged",
        "it is not enough that some of the last gains of the log-likelihood (eq. 9.28) are small: "
        "all of the last `patience` per-sample gains must be below tol (np.all, not np.any).",
    ),
    Misconception(
        "patience-window-off-by-one",
        "converged",
        "the window holds one gain too many or too few: the rule looks at exactly the last `patience` per-sample "
        "gains of the log-likelihood (eq. 9.28), gains[-patience:], and needs at least `patience` of them.",
    ),
    Misconception(
        "patience-too-few-gains",
        "converged",
        "the rule declares convergence before there are `patience` gains of the log-likelihood (eq. 9.28) "
        "(np.all of an empty or short window is True): also require len(gains) >= patience.",
    ),
    Misconception(
        "best-run-lowest",
        "best",
        "EM maximises the log-likelihood (eq. 9.28), so the best restart is the one with the highest final "
        "value (np.argmax), not the lowest.",
    ),
    Misconception(
        "best-run-first-value",
        "final_log_likelihoods",
        "compare the restarts where they end, by their last log-likelihood (eq. 9.28), "
        "run['log_likelihoods'][-1], not by their first value.",
    ),
    Misconception(
        "best-run-most-iterations",
        "final_log_likelihoods",
        "compare the restarts by their final log-likelihood (eq. 9.28), run['log_likelihoods'][-1], "
        "not by how many iterations they ran.",
    ),
    Misconception(
        "best-run-index",
        "best",
        "best_run returns the run itself, runs[index], not its index: the caller reads best['log_likelihoods'] "
        "(eq. 9.28's values).",
    ),
]
#: Notebook 05: the M-step with the ridge reg_covar * I (eqs. 9.24-9.26 plus the ridge).
SINGULARITIES = [
    Misconception(
        "ridge-mean-not-broadcast",
        "mu",
        "N_k has shape (K,) and gamma.T @ X shape (K, D): divide by N_k[:, None], so that row k is divided by "
        "N_k (eq. 9.24); without [:, None] NumPy lines N_k up with the D columns, or cannot broadcast at all.",
    ),
    Misconception(
        "ridge-mean-divided-by-n",
        "mu",
        "the new mean divides by N_k, the effective number of points of component k (eq. 9.24), not by n_samples.",
    ),
    Misconception(
        "scatter-unweighted",
        "weighted_scatter",
        "weighted_scatter weights each outer product (x_n - mu_k)(x_n - mu_k)^T by gamma[n, k] "
        "(the sum in eq. 9.25): multiply diff by gamma[:, k, None].",
    ),
    Misconception(
        "scatter-weighted-twice",
        "weighted_scatter",
        "gamma[n, k] multiplies each outer product once (eq. 9.25): weighting both factors, diff and diff^T, "
        "squares the responsibilities.",
    ),
    Misconception(
        "ridge-covariance-divided-by-n",
        "covariances[k]",
        "the covariance divides the weighted scatter by N_k (eq. 9.25), not by n_samples.",
    ),
    Misconception(
        "ridge-covariance-bessel",
        "covariances[k]",
        "the M-step covariance divides by N_k (eq. 9.25), not N_k - 1: it is the maximum-likelihood estimate, "
        "and a component holding a single point would divide by zero.",
    ),
    Misconception(
        "ridge-missing",
        "covariances[k]",
        "add the ridge reg_covar * np.eye(n_features) to every covariance after eq. (9.25): without it a "
        "component on a single point gets a singular covariance.",
    ),
    Misconception(
        "ridge-off-diagonal",
        "covariances[k]",
        "the ridge goes on the diagonal only: add reg_covar * np.eye(n_features) after eq. (9.25), "
        "not reg_covar to every entry.",
    ),
    Misconception(
        "ridge-scaled-by-n-k",
        "covariances[k]",
        "the ridge is exactly reg_covar * I, added after dividing the scatter by N_k (eq. 9.25): "
        "weighted_scatter / N_k + reg_covar * I, not (weighted_scatter + reg_covar * I) / N_k "
        "nor N_k * reg_covar * I.",
    ),
    Misconception(
        "ridge-in-denominator",
        "covariances[k]",
        "reg_covar goes on the covariance's diagonal, not into the denominator: divide the scatter by N_k "
        "(eq. 9.25), then add reg_covar * np.eye(n_features).",
    ),
    Misconception(
        "ridge-weights-not-normalised",
        "pi",
        "pi_k is N_k divided by the number of points n_samples (eq. 9.26), so the weights sum to 1.",
    ),
]
#: Notebook 06: free-parameter counts of the four covariance types, the BIC and the AIC.
MODEL_SELECTION = [
    Misconception(
        "covariance-entries-not-symmetric",
        "n_cov_full, n_cov_tied",
        "a covariance matrix is symmetric (eq. 9.7's Sigma_k): a D x D one has D(D+1)/2 free entries, "
        "its diagonal and the entries above it, not D^2.",
    ),
    Misconception(
        "covariance-diagonal-missing",
        "n_cov_full, n_cov_tied",
        "D(D-1)/2 counts only the entries above the diagonal: the D variances on the diagonal of Sigma_k "
        "(eq. 9.7) are free too, D(D+1)/2 in all.",
    ),
    Misconception(
        "covariance-not-per-component",
        "n_cov_full, n_cov_diag, n_cov_spherical",
        "every component k has its own covariance Sigma_k (eq. 9.7) in the full, diagonal and spherical types: "
        "count one per component, K times; only the tied type shares one.",
    ),
    Misconception(
        "diagonal-counted-as-full",
        "n_cov_diag",
        "a diagonal Sigma_k (eq. 9.7) has only the D variances on its diagonal free: K D in all, not K D(D+1)/2.",
    ),
    Misconception(
        "tied-counted-per-component",
        "n_cov_tied",
        "a tied covariance is one matrix Sigma shared by all K components (Sigma_k = Sigma in eq. 9.7): "
        "D(D+1)/2 free entries, not K times that.",
    ),
    Misconception(
        "spherical-counted-as-diagonal",
        "n_cov_spherical",
        "a spherical Sigma_k = sigma_k^2 I (eq. 9.7) has one free variance per component: K in all, not K D.",
    ),
    Misconception(
        "means-missing-from-count", "n_means", "the K means mu_k of eq. 9.7 are free parameters too: K D entries."
    ),
    Misconception(
        "means-one-entry-each", "n_means", "each mean mu_k (eq. 9.7) is a vector of D entries: K D in all, not K."
    ),
    Misconception(
        "weights-all-counted",
        "n_weights",
        "the K mixing weights sum to 1 (eq. 9.9), so the last is fixed by the others: K - 1 are free, not K.",
    ),
    Misconception(
        "weights-missing-from-count",
        "n_weights",
        "the mixing weights pi_k are free parameters too: K of them summing to 1 (eq. 9.9), so K - 1.",
    ),
    Misconception(
        "criterion-halved",
        "bic_value, aic_value",
        "scikit-learn's criteria are -2 times PRML's (BIC eq. 4.139, AIC eq. 1.73): multiply the "
        "log-likelihood of eq. 9.14 and the penalty both by 2, -2 ln p + M ln N and -2 ln p + 2M.",
    ),
    Misconception(
        "criterion-prml-sign",
        "bic_value, aic_value",
        "this is PRML's form (BIC eq. 4.139, AIC eq. 1.73), where higher is better; scikit-learn's criteria are "
        "that times -2, so that lower is better: -2 ln p + M ln N and -2 ln p + 2M.",
    ),
    Misconception(
        "criterion-loglik-sign",
        "bic_value, aic_value",
        "the log-likelihood (eq. 9.14) enters with -2: -2 ln p(X | theta), so that a better fit lowers the criterion.",
    ),
    Misconception(
        "criterion-loglik-not-doubled",
        "bic_value, aic_value",
        "the factor -2 multiplies the log-likelihood (eq. 9.14) too: -2 ln p(X | theta), not -ln p(X | theta).",
    ),
    Misconception(
        "criterion-penalty-factor",
        "bic_value, aic_value",
        "the factor -2 multiplies the penalty too: PRML's (1/2) M ln N (eq. 4.139) becomes M ln N, and the AIC's "
        "M (eq. 1.73) becomes 2M.",
    ),
    Misconception(
        "criterion-penalty-sign",
        "bic_value, aic_value",
        "the penalty is added, so that more parameters cost more: -2 ln p + M ln N (eq. 4.139 times -2) "
        "and -2 ln p + 2M (eq. 1.73 times -2).",
    ),
    Misconception(
        "bic-penalty-of-aic",
        "bic_value",
        "2M is the AIC's penalty (eq. 1.73 times -2); the BIC's is M ln N (eq. 4.139 times -2).",
    ),
    Misconception(
        "bic-log10",
        "bic_value",
        "ln N in the BIC's penalty (eq. 4.139) is the natural logarithm: np.log, not np.log10.",
    ),
    Misconception(
        "bic-penalty-without-log",
        "bic_value",
        "the BIC's penalty is M ln N (eq. 4.139 times -2), the logarithm of the number of points, not M N.",
    ),
]
#: Notebook 07: the evidence lower bound and the KL gap (eqs. 9.70-9.72); it also meets two entries of LOG_SPACE.
LOWER_BOUND = [
    Misconception(
        "elbo-entropy-missing",
        "elbo",
        "L(q, theta) (eq. 9.71) is the expected complete-data log-likelihood sum q ln p(x, z | theta) (eq. 9.74) "
        "plus the entropy of q, - sum q ln q: the entropy term is missing.",
    ),
    Misconception(
        "elbo-entropy-sign",
        "elbo",
        "L(q, theta) = sum q ln p(x, z | theta) - sum q ln q (eq. 9.71): the q ln q term enters with a minus sign.",
    ),
    Misconception(
        "elbo-uses-posterior",
        "elbo",
        "eq. (9.71) divides the joint p(x_n, z_n = k | theta) by q, not the posterior p(z_n = k | x_n, theta): "
        "with the posterior you get minus the KL divergence of eq. (9.72).",
    ),
    Misconception(
        "elbo-log-weight-missing",
        "elbo",
        "ln p(x_n, z_n = k | theta) = ln pi_k + ln N(x_n | mu_k, sigma_k^2) includes the mixing weight "
        "(eq. 9.71): use the log joint, not the log density alone.",
    ),
    Misconception(
        "q-log-q-without-xlogy",
        "q ln q",
        "q * np.log(q) is NaN where q is exactly 0 (0 times -inf), but 0 ln 0 counts as 0, its limit "
        "(eq. 9.71 and eq. 9.72): compute q ln q with xlogy(q, q).",
    ),
    Misconception(
        "mean-instead-of-sum",
        "elbo, kl",
        "the sums over Z in eq. (9.71) and eq. (9.72) run over every point n and component k: take their sum, "
        "not their mean.",
    ),
    Misconception(
        "posterior-is-joint",
        "log_posterior",
        "the KL gap (eq. 9.72) compares q with the posterior p(z_n = k | x_n, theta), not with the joint: "
        "the log posterior is the log joint minus each point's log-normaliser (eq. 9.23 in logs).",
    ),
    Misconception(
        "kl-sign",
        "kl",
        "KL(q || p) = sum q (ln q - ln p(z | x, theta)) (eq. 9.72), which is never negative: "
        "your difference is the other way round.",
    ),
    Misconception(
        "kl-weighted-by-posterior",
        "kl",
        "eq. (9.72) is KL(q || p(Z | X, theta)): the log ratio is weighted by q, not by the posterior "
        "(the divergence is not symmetric).",
    ),
]
#: Notebook 08: the shared-variance E-step (eq. 9.42), k-means' hard assignment (eq. 9.2), the centroid (eq. 9.4).
KMEANS_LIMIT = [
    Misconception(
        "soft-half-missing",
        "log_weighted",
        "the exponent of eq. (9.42) is -(x_n - mu_k)^2 / (2 sigma^2): divide by 2 * variance, "
        "the factor 1/2 is missing.",
    ),
    Misconception(
        "soft-variance-squared",
        "log_weighted",
        "`variance` is sigma^2 already (eq. 9.42): divide by 2 * variance, do not square it again.",
    ),
    Misconception(
        "soft-variance-as-std",
        "log_weighted",
        "`variance` is sigma^2, not sigma (eq. 9.42): divide by 2 * variance, not by 2 * np.sqrt(variance).",
    ),
    Misconception(
        "soft-variance-multiplied",
        "log_weighted",
        "`/ 2 * variance` multiplies by the variance (Python works left to right): eq. (9.42) divides by "
        "2 sigma^2, so write / (2 * variance).",
    ),
    Misconception(
        "soft-log-weight-missing",
        "log_weighted",
        "the log of the numerator of eq. (9.42) is ln pi_k - (x_n - mu_k)^2 / (2 sigma^2): "
        "add np.log(pi), neither leave it out nor add pi itself.",
    ),
    Misconception(
        "soft-exponent-sign",
        "log_weighted",
        "points should favour NEAR means: the squared distance enters eq. (9.42) with a minus sign, "
        "ln pi_k - (x_n - mu_k)^2 / (2 variance).",
    ),
    Misconception(
        "soft-distance-not-squared",
        "log_weighted",
        "eq. (9.42) uses the squared distance (x_n - mu_k)^2, not the absolute distance |x_n - mu_k|.",
    ),
    Misconception(
        "soft-exp-underflow",
        "log_weighted",
        "for a small variance np.exp(-(x_n - mu_k)^2 / (2 variance)) underflows to 0, its log is -inf and the "
        "normalisation gives NaN: write log_weighted directly as ln pi_k - (x_n - mu_k)^2 / (2 variance) "
        "(eq. 9.42 in logs).",
    ),
    Misconception(
        "nearest-argmax",
        "nearest",
        "k-means assigns each point to its NEAREST mean (eq. 9.2): take the argmin over k of the squared "
        "distance, not the argmax.",
    ),
    Misconception(
        "nearest-signed-difference",
        "nearest",
        "the nearest mean minimises the squared distance (x_n - mu_k)^2 (eq. 9.2): the signed difference "
        "x_n - mu_k is smallest for the largest mean, not for the nearest one.",
    ),
    Misconception(
        "one-hot-missing",
        "r",
        "r is the one-hot (N, K) matrix of eq. (9.2): np.eye(len(mu))[nearest] turns each index into a row with "
        "a single 1; the indices themselves are not r.",
    ),
    Misconception(
        "centroid-divided-by-n",
        "means",
        "divide by the total weight sum_n w_nk of component k (eq. 9.4), not by the number of points N.",
    ),
    Misconception(
        "centroid-unweighted",
        "means",
        "every point x_n is weighted by w_nk in the numerator of eq. (9.4): sum_n w_nk x_n, "
        "not the plain sum of the data.",
    ),
]

#: Notebook 09: EM for a mixture of Bernoulli distributions on binary digits.
BERNOULLI_MIXTURE = [
    Misconception(
        "bernoulli-complement-missing",
        "log_p",
        "a pixel that is 0 contributes ln(1 - mu_kd): the log of eq. (9.48) is "
        "sum_d x_nd ln mu_kd + (1 - x_nd) ln(1 - mu_kd), and the second term is missing.",
    ),
    Misconception(
        "bernoulli-pixels-swapped",
        "log_p",
        "mu_kd is the probability that pixel d is 1 (eq. 9.44), so ln mu_kd goes with x_nd and ln(1 - mu_kd) with "
        "1 - x_nd (eq. 9.48): the two are swapped.",
    ),
    Misconception(
        "bernoulli-probability-underflow",
        "log_p",
        "a product of many pixel probabilities (eq. 9.48) underflows to 0 for wide images, and its log is -inf: "
        "sum the logs instead, sum_d x_nd ln mu_kd + (1 - x_nd) ln(1 - mu_kd).",
    ),
    Misconception(
        "bernoulli-pixels-averaged",
        "log_p",
        "the pixels are independent given the component, so their log-probabilities add up (eq. 9.48): sum over "
        "the pixels d, do not average.",
    ),
    Misconception(
        "bernoulli-responsibilities-wrong-axis",
        "log_gamma",
        "each image's responsibilities are normalised over the components k (the denominator of eq. 9.56): take "
        "the log-sum-exp along axis=1, not over the images (axis=0) or over the whole array.",
    ),
    Misconception(
        "bernoulli-responsibilities-keepdims-missing",
        "log_gamma",
        "logsumexp(..., axis=1) gives one value per image, shape (N,), which does not line up with the rows of the "
        "(N, K) array it is subtracted from: keepdims=True keeps it (N, 1) (eq. 9.56 in logs).",
    ),
    Misconception(
        "bernoulli-responsibilities-underflow",
        "log_gamma",
        "np.exp of a log-likelihood of many pixels underflows to 0, and 0 / 0 is NaN: normalise in log space, "
        "log_weighted - logsumexp(log_weighted, axis=1, keepdims=True) (eq. 9.56).",
    ),
    Misconception(
        "bernoulli-responsibilities-unnormalised",
        "log_gamma",
        "the responsibilities of eq. (9.56) divide by the sum over the components, so each image's row sums to 1: "
        "subtract its log-sum-exp from log_weighted.",
    ),
    Misconception(
        "bernoulli-nk-wrong-axis",
        "N_k",
        "N_k = sum_n gamma(z_nk) (eq. 9.57) sums over the images, one number per component: gamma.sum(axis=0), "
        "not over the components (axis=1), whose sums are all 1.",
    ),
    Misconception(
        "bernoulli-mean-divided-by-n",
        "mu",
        "the new mean divides by N_k, the effective number of images of component k (eq. 9.58 and eq. 9.59), "
        "not by the total number of images N.",
    ),
    Misconception(
        "bernoulli-mean-unweighted",
        "mu",
        "every image x_n enters the new mean of component k weighted by its responsibility gamma(z_nk) "
        "(eq. 9.58): sum_n gamma_nk x_n, not the plain sum of the images.",
    ),
    Misconception(
        "bernoulli-mean-not-column",
        "mu",
        "gamma.T @ X has shape (K, D) and N_k shape (K,): divide each ROW k by N_k (eq. 9.58), which takes "
        "N_k[:, None]; a plain / N_k divides the columns.",
    ),
    Misconception(
        "bernoulli-weights-unnormalised",
        "pi",
        "the mixing weights are fractions of the images, pi_k = N_k / N (eq. 9.60), and sum to 1: divide N_k "
        "by the number of images.",
    ),
]

#: Notebook 10: squared colour distances and the nearest centre (eqs. 9.1, 9.2), the distortion, the quantised
#: image, the bits of PRML section 9.1.1 and a mixture's segmentation from log responsibilities (eq. 9.23).
SEGMENTATION = [
    Misconception(
        "colour-distance-not-squared",
        "sq_dist",
        "k-means measures ||x_n - mu_k||^2, the SQUARED Euclidean distance in colour space (eq. 9.1): "
        "sum the squared channel differences and take no square root.",
    ),
    Misconception(
        "colour-distance-square-of-sum",
        "sq_dist",
        "||x_n - mu_k||^2 is the sum over the three colour channels of the squared differences (eq. 9.1): "
        "square each channel's difference first, then sum, not the other way round.",
    ),
    Misconception(
        "colour-nearest-argmax",
        "labels",
        "each pixel goes to its NEAREST centre (eq. 9.2): take the argmin over k of the squared distance, "
        "not the argmax.",
    ),
    Misconception(
        "distortion-mean",
        "J",
        "the distortion J of eq. (9.1) is a sum over the pixels, not a mean: use np.sum.",
    ),
    Misconception(
        "distortion-all-centres",
        "J",
        "in eq. (9.1) r_nk keeps only the centre of each pixel's own cluster: sum ||x_n - mu_k||^2 for "
        "k = labels[n], not over every centre.",
    ),
    Misconception(
        "quantised-transposed",
        "quantised",
        "pixels = image.reshape(-1, 3) lists the image row by row, so the quantised image is "
        "centres[labels].reshape(height, width, 3): height first, as the array's shape, with no transpose.",
    ),
    Misconception(
        "quantised-labels-not-colours",
        "quantised",
        "the quantised image shows every pixel in its centre's colour, centres[labels], shape "
        "(height, width, 3); the labels alone are the segmentation map, not the image.",
    ),
    Misconception(
        "bits-not-rounded-up",
        "ratio",
        "a label is stored in a whole number of bits: ceil(log2 K) per pixel (PRML section 9.1.1), so round "
        "log2 K up with np.ceil (3 colours need 2 bits, not log2 3 and not 1).",
    ),
    Misconception(
        "bits-natural-log",
        "ratio",
        "the bits of a label count binary digits: log2 K (np.log2), not the natural logarithm np.log "
        "(PRML section 9.1.1).",
    ),
    Misconception(
        "bits-centres-missing",
        "ratio",
        "the quantised image must also store its K centres, 24 bits each: N ceil(log2 K) + 24 K bits "
        "(PRML section 9.1.1).",
    ),
    Misconception(
        "bits-8-per-pixel",
        "ratio",
        "a raw pixel takes 24 bits, 8 for each of red, green and blue, so the raw image takes 24 N bits, "
        "not 8 N (PRML section 9.1.1).",
    ),
    Misconception(
        "segment-weights-missing",
        "log_resp",
        "the responsibility of eq. (9.23) weighs each density by its mixing weight: add np.log(weights) to "
        "the log densities, or pixels go to components by the density alone.",
    ),
    Misconception(
        "segment-logsumexp-wrong-axis",
        "log_resp",
        "each pixel's responsibilities sum to 1 over the components k (eq. 9.23): normalise with "
        "logsumexp over axis=1, the components, not axis=0, the pixels.",
    ),
    Misconception(
        "segment-exp-underflow",
        "log_resp",
        "far from every component all densities underflow to 0 and their ratio is NaN: stay in log space, "
        "ln pi_k + ln N(x_n | mu_k, Sigma_k) minus its logsumexp over k (eq. 9.23 in logs).",
    ),
]

#: Notebook 11: a mixture as a density (eq. 9.7 in logs), a generator (ancestral sampling) and an anomaly detector;
#: its BIC also meets three entries of MODEL_SELECTION.
DENSITY = [
    Misconception(
        "density-max-not-logsumexp",
        "log_p",
        "ln p(x) = ln sum_k pi_k N(x | mu_k, Sigma_k) (eq. 9.7 in logs) adds up every component's share: "
        "logsumexp over k, not the largest term alone (the max keeps only the most responsible component).",
    ),
    Misconception(
        "density-sum-of-logs",
        "log_p",
        "eq. (9.7) is the log of a SUM over the components: summing the logs ln pi_k + ln N(x | mu_k, Sigma_k) "
        "over k takes the log of a product instead; use logsumexp over k.",
    ),
    Misconception(
        "density-weights-missing",
        "log_p",
        "every component enters eq. (9.7) weighted by pi_k: the log-sum-exp runs over ln pi_k + ln N(x | mu_k, "
        "Sigma_k), so add np.log(weights), neither leave it out nor add the weights themselves.",
    ),
    Misconception(
        "density-exp-underflow",
        "log_p",
        "far from every component the densities pi_k N(x | mu_k, Sigma_k) underflow to 0 and their log is -inf: "
        "never leave log space, take logsumexp of ln pi_k + ln N(x | mu_k, Sigma_k) (eq. 9.7 in logs).",
    ),
    Misconception(
        "bic-log-n-missing",
        "bic_value",
        "each free parameter costs ln N in the BIC (eq. 4.139 times -2): the penalty is M ln N, not M alone.",
    ),
    Misconception(
        "sampling-single-component",
        "labels",
        "ancestral sampling (PRML section 8.1.2) draws a component for EVERY point, z_n with p(z_n = k) = pi_k "
        "(eq. 9.10): rng.choice(K, size=n_samples, p=weights), not one component for all the points.",
    ),
    Misconception(
        "sampling-uniform-components",
        "labels",
        "the components are chosen with the mixing weights as probabilities, p(z_n = k) = pi_k (eq. 9.10): "
        "pass p=weights, otherwise every component is drawn equally often.",
    ),
    Misconception(
        "sampling-covariance-as-scale",
        "samples",
        "mu_k + A z with z standard normal has covariance A A^T, so with A = Sigma_k the draws have covariance "
        "Sigma_k squared: scale z by the Cholesky factor L_k of Sigma_k = L_k L_k^T, the matrix square root.",
    ),
    Misconception(
        "sampling-cholesky-transposed",
        "samples",
        "np.linalg.cholesky gives the lower-triangular L_k with Sigma_k = L_k L_k^T: the draws are mu_k + L_k z "
        "(einsum 'nij,nj->ni'); L_k^T z has covariance L_k^T L_k, which is not Sigma_k.",
    ),
    Misconception(
        "sampling-ignores-rng",
        "labels, samples",
        "draw every random number from the generator `rng` the function is given (rng.choice, "
        "rng.standard_normal), not from np.random: the same generator state must give the same draws.",
    ),
    Misconception(
        "anomaly-wrong-tail",
        "threshold",
        "anomalies are the LEAST likely points: the threshold is the low percentile of the log densities, "
        "np.percentile(log_p, percentile), not the 100 - percentile one at the top (PDSH section 05.12).",
    ),
    Misconception(
        "anomaly-flagged-above",
        "flagged",
        "the flagged points are those whose log density lies BELOW the threshold, log_p < threshold: "
        "low density means unusual (PDSH section 05.12).",
    ),
    Misconception(
        "anomaly-density-units",
        "threshold",
        "log_p holds log densities, so the threshold must be a log density too: take the percentile of "
        "log_p itself, not of np.exp(log_p), before comparing it with log_p.",
    ),
    Misconception(
        "anomaly-percentile-as-fraction",
        "threshold",
        "np.percentile takes percentiles from 0 to 100, so pass `percentile` itself; dividing it by 100 is "
        "for np.quantile, which takes fractions.",
    ),
]

#: Notebook 12: the variational Bayesian mixture's Dirichlet factor (eqs. 10.58, 10.66, 10.69) and responsibilities
#: (eqs. 10.46, 10.49).
VARIATIONAL_MIXTURE = [
    Misconception(
        "alpha-prior-missing",
        "alpha",
        "q(pi) is a Dirichlet whose concentration is the prior's plus the effective counts, alpha_k = alpha_0 + N_k "
        "(eq. 10.58): the prior alpha_0 is missing.",
    ),
    Misconception(
        "alpha-prior-minus-one",
        "alpha",
        "alpha_k = alpha_0 + N_k (eq. 10.58): the -1 belongs to the mode of a Dirichlet (a MAP estimate), "
        "not to its variational update.",
    ),
    Misconception(
        "digamma-normaliser-missing",
        "expected_log_pi",
        "E[ln pi_k] = psi(alpha_k) - psi(alpha_hat) with alpha_hat = sum_k alpha_k (eq. 10.66): the term "
        "psi(alpha_hat) is missing.",
    ),
    Misconception(
        "log-instead-of-digamma",
        "expected_log_pi",
        "E[ln pi_k] is not ln E[pi_k]: under a Dirichlet it is psi(alpha_k) - psi(alpha_hat), with the digamma "
        "function psi (scipy.special.digamma, eq. 10.66), not ln alpha_k - ln alpha_hat.",
    ),
    Misconception(
        "weights-without-k-alpha",
        "weights",
        "E[pi_k] = (alpha_0 + N_k) / (K alpha_0 + N) (eq. 10.69): the denominator is alpha_hat, the sum of all K "
        "concentrations, so it includes K alpha_0 and the weights add up to 1.",
    ),
    Misconception(
        "weights-prior-missing",
        "weights",
        "N_k / N is the maximum-likelihood weight of EM (eq. 9.26); the expected weight under q(pi) adds the prior, "
        "(alpha_0 + N_k) / (K alpha_0 + N) (eq. 10.69).",
    ),
    Misconception(
        "expected-log-precision-missing",
        "log_rho",
        "ln rho_nk (eq. 10.46) has the term 1/2 E[ln Lambda_k] (eq. 10.65), the expected log-normaliser of "
        "component k's Gaussian: it is missing.",
    ),
    Misconception(
        "expected-log-precision-not-halved",
        "log_rho",
        "ln rho_nk (eq. 10.46) takes half the expected log precision, 1/2 E[ln Lambda_k] (eq. 10.65), not all of it.",
    ),
    Misconception(
        "expected-quadratic-not-halved",
        "log_rho",
        "ln rho_nk (eq. 10.46) subtracts half the expected quadratic form, 1/2 E[(x_n - mu_k)^2 Lambda_k] "
        "(eq. 10.64), not all of it.",
    ),
    Misconception(
        "expected-log-weight-missing",
        "log_rho",
        "ln rho_nk (eq. 10.46) starts with E[ln pi_k] (eq. 10.66): without it the weights, and so the prior "
        "alpha_0, never reach the responsibilities.",
    ),
    Misconception(
        "responsibilities-probability-space",
        "log_r",
        "np.exp(ln rho) underflows to 0 for a point far from every component, and 0 / 0 is NaN: normalise in log "
        "space, ln r_nk = ln rho_nk - logsumexp over k (eq. 10.49).",
    ),
    Misconception(
        "responsibilities-wrong-axis",
        "log_r",
        "r_nk = rho_nk / sum_j rho_nj (eq. 10.49) normalises each point over its components: take the log-sum-exp "
        "along axis=1 with keepdims=True, not over the points (axis=0) or the whole array.",
    ),
    Misconception(
        "log-rho-unnormalised",
        "log_r",
        "ln rho_nk is unnormalised (eq. 10.46): subtract each point's log-sum-exp over k to get ln r_nk "
        "(eq. 10.49), so that every row of r sums to 1.",
    ),
]

#: Every topic's list, in the order of the notebooks.
TOPICS = (
    EM_STEPS,
    LOG_SPACE,
    INITIALISATION,
    SINGULARITIES,
    MODEL_SELECTION,
    LOWER_BOUND,
    KMEANS_LIMIT,
    BERNOULLI_MIXTURE,
    SEGMENTATION,
    DENSITY,
    VARIATIONAL_MIXTURE,
)
CATALOGUE = {m.id: m for topic in TOPICS for m in topic}
assert len(CATALOGUE) == sum(map(len, TOPICS)), "catalogue ids must be unique"


def hint(misconception_id: str) -> str:
    """The student-facing hint for an id, prefixed with the id."""
    return f"[{misconception_id}] {CATALOGUE[misconception_id].hint}"


_TOKEN = re.compile(r"\[([a-z0-9]+(?:-[a-z0-9]+)*)\]")


def diagnosis_ids(text: str | None) -> list[str]:
    """The catalogue ids named as ``[id]`` tokens in ``text``, in order of first appearance, without repeats.

    ``text`` is anything a check printed: a ``CheckFailed`` message, a
    self-check's output, or the error output of an autograded test cell.
    Bracketed words that are not catalogue ids (``[0]``, ``[k]``) are ignored.
    """
    found: list[str] = []
    for match in _TOKEN.finditer(text or ""):
        if match.group(1) in CATALOGUE and match.group(1) not in found:
            found.append(match.group(1))
    return found


def graded_cell_errors(notebook: Mapping[str, Any]) -> dict[str, str]:
    """``{grade_id: error text}`` of the grade cells of an executed notebook that raised.

    ``notebook`` is a notebook as nbformat reads it (or its plain JSON);
    nbgrader's autograded copy keeps each test cell's error output, whose
    text holds the check's message and so its ``[id]`` tokens.
    """
    errors: dict[str, str] = {}
    for cell in notebook["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] != "code" or not nbgrader.get("grade"):
            continue
        texts = [
            f"{out.get('ename', '')}: {out.get('evalue', '')}"
            for out in cell.get("outputs", [])
            if out.get("output_type") == "error"
        ]
        if texts:
            errors[nbgrader["grade_id"]] = "\n".join(texts)
    return errors
