"""Free-parameter counts and information criteria of Gaussian mixtures, in scikit-learn's conventions.

``covariance_type`` is one of scikit-learn's ``GaussianMixture`` options:
``"full"`` (K, D, D), ``"diag"`` (K, D), ``"tied"`` (D, D) shared, ``"spherical"`` (K,).
Both criteria are on the "-2 log-likelihood" scale, so lower is better.
"""

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")
#: Where fitted log-likelihoods are remembered across runs (overridden by $GMM_EM_CACHE).
DEFAULT_CACHE = Path.home() / ".cache" / "gmm-em-course"


def n_covariance_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free entries of the covariance parameters; a symmetric D x D matrix has D(D+1)/2."""
    K, D = n_components, n_features
    counts = {
        "full": K * D * (D + 1) // 2,
        "diag": K * D,
        "tied": D * (D + 1) // 2,
        "spherical": K,
    }
    return counts[covariance_type]


def n_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Means (K D) + weights (K - 1, they sum to 1) + covariance parameters."""
    K, D = n_components, n_features
    return K * D + (K - 1) + n_covariance_parameters(covariance_type, K, D)


def bic(total_log_likelihood: float, n_params: int, n_samples: int) -> float:
    """-2 ln p(X | theta_ML) + M ln N: PRML eq. (4.139) times -2."""
    return -2 * total_log_likelihood + n_params * np.log(n_samples)


def aic(total_log_likelihood: float, n_params: int) -> float:
    """-2 ln p(X | theta_ML) + 2 M: PRML eq. (1.73) times -2."""
    return -2 * total_log_likelihood + 2 * n_params


@functools.cache
def _memory() -> Any:
    """A joblib disk cache in $GMM_EM_CACHE or DEFAULT_CACHE; caching nothing where that is not writable."""
    import joblib

    path = Path(os.environ.get("GMM_EM_CACHE") or DEFAULT_CACHE)
    location: Path | None = path
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK):
            location = None
    except OSError:
        location = None
    return joblib.Memory(location, verbose=0)


def _fit_log_likelihood(
    X: np.ndarray, covariance_type: str, n_components: int, n_init: int, random_state: int | None
) -> float:
    from sklearn.mixture import GaussianMixture

    model = GaussianMixture(
        n_components, covariance_type=covariance_type, n_init=n_init, random_state=random_state
    ).fit(X)
    return float(model.score(X) * len(X))


def fitted_log_likelihood(
    X: ArrayLike, covariance_type: str, n_components: int, n_init: int = 3, random_state: int | None = 0
) -> float:
    """ln p(X | theta) of scikit-learn's ``GaussianMixture`` fitted to ``X`` (N, D), remembered on disk.

    The same fit for the same data and settings is deterministic
    (``random_state``), so a sweep re-run (the student's second run,
    Validate) reads its 48 fits instead of repeating tens of seconds of work.

    Parameters
    ----------
    X : array_like, shape (N, D)
        The data.
    covariance_type : {"full", "diag", "tied", "spherical"}
    n_components : int
        K.
    n_init, random_state : int
        As ``GaussianMixture``'s.

    Returns
    -------
    float
        ln p(X | theta) at the fit, summed over the points.
    """
    X = np.ascontiguousarray(X, dtype=float)
    return _memory().cache(_fit_log_likelihood)(X, covariance_type, int(n_components), n_init, random_state)
