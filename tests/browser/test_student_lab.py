"""The student's JupyterLab in a real headless Chromium, driven as a student would.

A JupyterLab started by ``grader.apps.lab`` serves a student's workspace
fetched from a temp copy of the course's release, as ``grader lab`` does.
The tests run every cell, read the unfilled-blank message, type the answers
into the EM cell's editor, run again, read the self-check's success line, see
the figures, press nbgrader's Validate and move notebook 02's iteration
slider. Screenshots go to ``test-artifacts/browser/``.
"""

import json
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from grader.apps.lab import (
    INSTRUCTOR_LAB_PLUGINS,
    fetch_assignments,
    lab_command,
    lab_environment,
    write_student_config,
)
from grader.course import DEFAULT_ROOT, Course
from grader.samples import SEED_STYLE, fill_blanks

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium, fully offline: Playwright's own browser download is not used.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = DEFAULT_ROOT / "test-artifacts" / "browser"
#: JupyterLab settings that make the page deterministic: every cell stays in the DOM, no news pop-up.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}
#: The first line of each notebook's final-fit figure cell.
FIT_CELL_START = {"01_em_1d": "x = np.linspace(min(data) - 1", "02_em_2d": "grid_x, grid_y = np.meshgrid"}
STARTUP_SECONDS = 90
RUN_SECONDS = 180


def free_loopback_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Lab:
    """A running student JupyterLab: its URL, token and the student's workspace it serves."""

    def __init__(self, workspace, port, token):
        self.workspace, self.port, self.token = workspace, port, token
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path):
        with urllib.request.urlopen(f"{self.url}{path}?token={self.token}", timeout=10) as response:
            return response.status, response.read().decode()

    def notebook_url(self, relative_path):
        # reset: a fresh workspace, so notebooks opened by earlier tests are not reopened beside it.
        return f"{self.url}/lab/tree/{relative_path}?token={self.token}&reset"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("student")
    course_root = root / "course"
    course_root.mkdir()
    shutil.copy(DEFAULT_ROOT / "nbgrader_config.py", course_root)
    shutil.copytree(DEFAULT_ROOT / "notebooks", course_root / "notebooks")
    workspace = root / "workspace"
    fetch_assignments(Course(course_root), workspace)
    env = lab_environment(write_student_config(root / "jupyter-config"))
    for name, settings in LAB_SETTINGS.items():
        path = root / "lab-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(root / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
    )
    port, token = free_loopback_port(), secrets.token_hex(16)
    argv = [*lab_command(workspace, port=port, open_browser=False), f"--IdentityProvider.token={token}"]
    log_path = root / "lab.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(argv, cwd=course_root, env=env, stdout=log, stderr=subprocess.STDOUT)
    lab = Lab(workspace, port, token)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                lab.get("/api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        yield lab
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(RUN_SECONDS * 1000)
    yield page
    context.close()


def screenshot(locator, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def open_notebook(page, lab, relative_path):
    page.goto(lab.notebook_url(relative_path))
    page.locator(".jp-Notebook .jp-CodeCell").first.wait_for()
    # Until the kernel has started, the toolbar says "No Kernel" and Run All would do nothing.
    page.locator(".jp-Toolbar").get_by_text("Python 3 (ipykernel)").wait_for()
    wait_until_idle(page)


def wait_until_idle(page):
    """The kernel is idle and no cell is queued or running."""
    page.wait_for_function("""() => {
        const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
        return indicator && indicator.dataset.status === 'idle'
            && prompts.every(prompt => !prompt.textContent.includes('*'));
    }""")


def code_cell(page, text):
    """The code cell whose source (or output) contains ``text``.

    CodeMirror draws only the lines near the screen, so ``text`` should be on a cell's first lines.
    """
    return page.locator(".jp-CodeCell").filter(has_text=text)


def run_all_cells(page):
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def type_answer(page, em_cell, target, answer):
    """Replace the ``###`` of ``target = ###`` by ``answer``, keystroke by keystroke."""
    line = em_cell.locator(".cm-line", has_text=re.compile(rf"^\s*{re.escape(target)} = ###\s*$"))
    line.click()
    page.keyboard.press("End")
    for _ in "###":
        page.keyboard.press("Backspace")
    page.keyboard.type(answer)
    typed = em_cell.locator(".cm-line", has_text=re.compile(rf"^\s*{re.escape(f'{target} = {answer}')}\s*$"))
    assert typed.count() == 1


def one_line(answer):
    """A multi-line answer as a student would type it on the blank's line."""
    return " ".join(part.strip() for part in answer.split("\n"))


@pytest.mark.parametrize("assignment_id", ["01_em_1d", "02_em_2d"])
def test_student_fills_the_blanks_sees_the_self_check_pass_and_validates(page, lab, assignment_id):
    open_notebook(page, lab, f"{assignment_id}/{assignment_id}.ipynb")
    assert page.locator(".jp-Toolbar .validate-button").is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{assignment_id}-0-opened.png"))
    em_cell = code_cell(page, "# EM algorithm")

    run_all_cells(page)
    message = em_cell.locator(".jp-OutputArea-output", has_text="UnfilledBlank")
    message.wait_for()
    wait_until_idle(page)
    assert "is not filled in yet" in message.inner_text()
    assert "Traceback" not in em_cell.inner_text()
    screenshot(em_cell, f"{assignment_id}-1-unfilled-blank")

    for target, answer in SEED_STYLE[assignment_id].items():
        type_answer(page, em_cell, target, one_line(answer))
    run_all_cells(page)
    self_check = code_cell(page, "self_check(globals())")
    self_check.locator(".jp-OutputArea-output", has_text="All checks passed").wait_for()
    wait_until_idle(page)
    assert "UnfilledBlank" not in em_cell.inner_text()
    screenshot(self_check, f"{assignment_id}-2-self-check-passed")

    fit = code_cell(page, FIT_CELL_START[assignment_id])
    assert fit.locator(".jp-OutputArea-output img").count() >= 1
    screenshot(fit.locator(".jp-OutputArea"), f"{assignment_id}-3-fitted-mixture")
    if assignment_id == "02_em_2d":
        ellipses = code_cell(page, "from matplotlib.patches import Ellipse")
        assert ellipses.locator(".jp-OutputArea-output img").count() == 1
        screenshot(ellipses.locator(".jp-OutputArea"), f"{assignment_id}-4-ellipse-snapshots")

    # Validate checks the file on disk: save first, as the student must.
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')")
    page.locator(".jp-Toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.wait_for()
    screenshot(dialog, f"{assignment_id}-5-validate")
    assert "passes all the tests" in dialog.inner_text(), dialog.inner_text()


def test_student_fills_09s_blanks_sees_the_means_figure_and_the_self_check_pass_and_validates(page, lab):
    """Notebook 09 (Bernoulli mixtures): five blanks in three functions typed in, the means drawn as images."""
    assignment_id = "09_bernoulli_mixtures"
    open_notebook(page, lab, f"{assignment_id}/{assignment_id}.ipynb")
    answer_cell = code_cell(page, "def log_bernoulli(X, mu):")

    run_all_cells(page)
    message = answer_cell.locator(".jp-OutputArea-output", has_text="UnfilledBlank")
    message.wait_for()
    wait_until_idle(page)
    assert "is not filled in yet" in message.inner_text()
    assert "Traceback" not in answer_cell.inner_text()
    screenshot(answer_cell, f"{assignment_id}-1-unfilled-blank")

    for target, answer in SEED_STYLE[assignment_id].items():
        type_answer(page, answer_cell, target, one_line(answer))
    run_all_cells(page)
    self_check = code_cell(page, "self_check(globals())")
    self_check.locator(".jp-OutputArea-output", has_text="All checks passed").wait_for()
    wait_until_idle(page)
    assert "UnfilledBlank" not in answer_cell.inner_text() and "✗" not in self_check.inner_text()
    screenshot(self_check, f"{assignment_id}-2-self-check-passed")

    means = code_cell(page, "fig, axes = plt.subplots(2, K + 1")
    assert means.locator(".jp-OutputArea-output img").count() == 1
    screenshot(means.locator(".jp-OutputArea"), f"{assignment_id}-3-means-as-images")
    # Right under the figure, its text alternative.
    cells = page.locator(".jp-Notebook .jp-Cell")
    index = next(i for i in range(cells.count()) if "fig, axes = plt.subplots(2, K + 1" in cells.nth(i).inner_text())
    caption = cells.nth(index + 1).locator(".jp-RenderedMarkdown").inner_text()
    assert caption.startswith("Figure: ") and "means after EM" in caption, caption

    # Validate checks the file on disk: save first, as the student must.
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')")
    page.locator(".jp-Toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.wait_for()
    screenshot(dialog, f"{assignment_id}-4-validate")
    assert "passes all the tests" in dialog.inner_text(), dialog.inner_text()


def test_iteration_slider_redraws_the_figure(page, lab):
    folder = lab.workspace / "02_em_2d"
    filled = fill_blanks(nbformat.read(folder / "02_em_2d.ipynb", as_version=4), SEED_STYLE["02_em_2d"])
    nbformat.write(filled, folder / "02_em_2d_filled.ipynb")
    open_notebook(page, lab, "02_em_2d/02_em_2d_filled.ipynb")

    run_all_cells(page)
    slider_cell = code_cell(page, "from ipywidgets import IntSlider, interact")
    # While a frame is redrawn the old image can linger beside the new one: the last is the current.
    figure = slider_cell.locator(".widget-output img").last
    figure.wait_for()
    wait_until_idle(page)
    readout = slider_cell.locator(".widget-readout")
    before = figure.get_attribute("src"), readout.inner_text()
    screenshot(slider_cell, "02_em_2d-6-slider-start")

    slider_cell.locator(".noUi-handle").focus()
    page.keyboard.press("End")
    page.wait_for_function(
        "([cell, src]) => { const img = [...cell.querySelectorAll('.widget-output img')].pop();"
        " return img && img.getAttribute('src') !== src; }",
        arg=[slider_cell.element_handle(), before[0]],
    )
    after = figure.get_attribute("src"), readout.inner_text()
    assert after[1] != before[1] and after[0] != before[0]
    screenshot(slider_cell, "02_em_2d-7-slider-moved")


def test_students_get_validate_but_not_the_formgrader(lab):
    status, page_html = lab.get("/lab")
    assert status == 200
    disabled = json.loads(re.search(r'"disabledExtensions":\s*(\[[^\]]*\])', page_html).group(1))
    assert set(INSTRUCTOR_LAB_PLUGINS) <= set(disabled)
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    with pytest.raises(urllib.error.HTTPError) as formgrader:
        lab.get("/formgrader")
    assert formgrader.value.code == 404
    # Validate's endpoint exists (GET is not its method, so 405, not 404).
    with pytest.raises(urllib.error.HTTPError) as validate:
        lab.get("/assignments/validate")
    assert validate.value.code != 404


def test_nbgrader_menu_offers_the_student_tools_only(page, lab):
    page.goto(f"{lab.url}/lab?token={lab.token}")
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
    menu = page.locator(".lm-Menu").last
    menu.get_by_text("Assignment List").wait_for()
    screenshot(menu, "nbgrader-menu")
    assert "Formgrader" not in menu.inner_text()


def run_cell(page, cell):
    """Select ``cell`` and run it with Shift+Enter, as a student stepping through the notebook does."""
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    wait_until_idle(page)


#: The first line of each of notebook 02's figure cells below the EM cell (the slider's too).
FIGURES_02 = [
    "from matplotlib.colors import LinearSegmentedColormap",
    "plt.plot(np.arange(1, n_iterations + 1), log_likelihoods",
    "grid_x, grid_y = np.meshgrid",
    "from matplotlib.patches import Ellipse",
    "from ipywidgets import IntSlider, interact",
]


def release_copy(lab, assignment_id, name, answers=None):
    """A fresh copy of the release notebook in the student's folder (earlier tests may have saved answers)."""
    nb = nbformat.read(DEFAULT_ROOT / "notebooks" / assignment_id / f"{assignment_id}.ipynb", as_version=4)
    nbformat.write(fill_blanks(nb, answers) if answers else nb, lab.workspace / assignment_id / f"{name}.ipynb")
    return f"{assignment_id}/{name}.ipynb"


def test_figures_below_a_failed_em_cell_each_say_in_one_line_which_cell_to_fix(page, lab):
    open_notebook(page, lab, release_copy(lab, "02_em_2d", "02_em_2d_calm"))
    for text in ("%load_ext grader.blanks", "np.random.seed(1)", "# Initialize parameters", "# EM algorithm"):
        run_cell(page, code_cell(page, text).first)
    em_cell = code_cell(page, "# EM algorithm")
    assert "UnfilledBlank" in em_cell.locator(".jp-OutputArea").inner_text()
    em_prompt = re.search(r"\[(\d+)\]", em_cell.locator(".jp-InputPrompt").inner_text()).group(1)

    figures = [code_cell(page, text) for text in FIGURES_02]
    for figure in figures:
        run_cell(page, figure)
        shown = figure.locator(".jp-OutputArea").inner_text().strip()
        assert shown == (
            f"This figure needs cell [{em_prompt}] (`# EM algorithm`) to run without an error: fix that cell first."
        ), shown
        assert figure.locator(".jp-OutputArea-output img").count() == 0
    screenshot(figures[0], "02_em_2d-8-calm-failure")
    # A graded cell keeps its whole error.
    test_cell = code_cell(page, "# M-step, means (2 points)")
    run_cell(page, test_cell)
    assert "CheckFailed" in test_cell.locator(".jp-OutputArea").inner_text()
    assert "This figure" not in test_cell.locator(".jp-OutputArea").inner_text()


def test_every_figure_has_a_text_alternative_and_02_labels_its_panels_by_iteration(page, lab):
    open_notebook(page, lab, release_copy(lab, "02_em_2d", "02_em_2d_captions", SEED_STYLE["02_em_2d"]))
    run_all_cells(page)
    code_cell(page, "self_check(globals())").locator(".jp-OutputArea-output", has_text="All checks passed").wait_for()
    wait_until_idle(page)
    cells = page.evaluate("""() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell => ({
        figure: cell.classList.contains('jp-CodeCell') && cell.querySelector('.jp-OutputArea-output img') !== null,
        text: cell.classList.contains('jp-MarkdownCell')
            ? cell.querySelector('.jp-RenderedMarkdown').innerText : ''}))""")
    figures = [index for index, cell in enumerate(cells) if cell["figure"]]
    assert len(figures) >= 6  # five figures and the slider's
    # Right under each figure, a short text alternative a screen reader reaches next.
    assert all(cells[index + 1]["text"].startswith("Figure: ") for index in figures), cells
    grid_caption = next(cell["text"] for cell in cells if "ten panels" in cell["text"])
    assert "after 0 (the random start)" in grid_caption and "30 and 40 iterations" in grid_caption
    grid = code_cell(page, "from matplotlib.colors import LinearSegmentedColormap")
    screenshot(grid.locator(".jp-OutputArea"), "02_em_2d-9-responsibilities")
    text = page.locator(".jp-MarkdownCell", has_text="Responsibilities over the iterations").inner_text()
    assert "purple" not in text and "iteration 40" in text


def test_model_selection_sweep_reports_progress_and_draws_readable_panels(page, lab):
    open_notebook(
        page,
        lab,
        release_copy(lab, "06_model_selection", "06_model_selection_filled", SEED_STYLE["06_model_selection"]),
    )
    run_all_cells(page)
    sweep = code_cell(page, 'covariance_types = ["full", "diag", "tied", "spherical"]')
    # The first progress line arrives while the sweep still runs.
    sweep.locator(".jp-OutputArea-output", has_text="fitted 1/4").wait_for()
    started = time.monotonic()
    sweep.locator(".jp-OutputArea-output", has_text="BIC picks").wait_for()
    wait_until_idle(page)
    shown = sweep.locator(".jp-OutputArea").inner_text()
    assert all(
        f"fitted {i}/4: {kind}" in shown for i, kind in enumerate(["full", "diag", "tied", "spherical"], start=1)
    ), shown
    assert "Traceback" not in shown and sweep.locator(".jp-OutputArea-output img").count() == 1
    screenshot(sweep.locator(".jp-OutputArea"), "06_model_selection-1-criteria")
    caption = page.locator(".jp-MarkdownCell", has_text="Figure: two panels, BIC and AIC minus their lowest")
    assert caption.count() == 1
    print(f"sweep finished {time.monotonic() - started:.1f} s after its first progress line")
