"""The user guide (docs/*.md) and the API reference (pdoc) work as written.

Every page of the guide says on its first line whether the docs test runs it
(``<!-- docs-test: run -->``) or not (``<!-- docs-test: skip -->``, with a visible
reason at the top). The ```python blocks of a runnable page are executed in order
in one namespace per page, in a temporary folder holding a copy of ``cases/data`` (so that
examples written to run from the root of a checkout find the real boundaries), with matplotlib's Agg backend;
```python no-run blocks are shown but not executed (the text says why). The
examples assert what they promise, so a changed API or behaviour fails here.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import re
import shutil
import warnings
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The guide: one page per capability (index.md is the table of contents).
PAGES = [
    "index.md",
    "district-and-crs.md",
    "streets.md",
    "grids.md",
    "ledger.md",
    "locate.md",
    "routes.md",
    "posts-and-staffing.md",
    "city.md",
    "simulate.md",
    "catalogue.md",
    "report.md",
    "datasets.md",
    "errors.md",
    "cli.md",
    "results.md",
]
RUN, SKIP = "<!-- docs-test: run -->", "<!-- docs-test: skip -->"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
SKIP_REASON = re.compile(r"^> \*\*Not run by the docs test:\*\* \S", re.M)


def _text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def code_blocks(text: str) -> list[tuple[int, str, str]]:
    """Fenced code blocks of a Markdown page: (line of the code's first line, info string, code)."""
    return [(text.count("\n", 0, m.start(2)) + 1, m.group(1).strip(), m.group(2)) for m in FENCE.finditer(text)]


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The executable ```python blocks of a page (not ```python no-run)."""
    return [(line, code) for line, info, code in code_blocks(text) if info.split() == ["python"]]


def test_code_blocks_are_found_as_written():
    page = (
        "Intro.\n\n```python\nx = 1\n```\n\n```python no-run\nnot_run()\n```\n\n```bash\nls\n```\n\n```python\ny = x + 1\n```\n"
    )
    assert python_blocks(page) == [(4, "x = 1\n"), (16, "y = x + 1\n")]
    assert [info for _, info, _ in code_blocks(page)] == ["python", "python no-run", "bash", "python"]


def test_the_guide_has_every_page_and_each_says_whether_it_runs():
    assert sorted(p.name for p in DOCS.glob("*.md")) == sorted(PAGES)
    for name in PAGES:
        text = _text(name)
        first = text.splitlines()[0]
        assert first in (RUN, SKIP), f"{name}: first line must be {RUN!r} or {SKIP!r}, not {first!r}"
        top = "\n".join(text.splitlines()[:8])
        if first == SKIP:
            assert SKIP_REASON.search(top), f"{name}: a page the test does not run must say why at the top"
        else:
            assert python_blocks(text), f"{name}: a runnable page needs ```python blocks"
        for line, info, _ in code_blocks(text):
            assert info, f"{name}:{line}: give every code block a language (python, python no-run, bash, text)"


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    outside_code = FENCE.sub("", text)
    slugs = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", outside_code, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


def test_anchors_are_made_as_github_makes_them():
    assert anchors("# Redraw: 12 → 15 (`resplit`)\n## Bad input\n") == {"redraw-12--15-resplit", "bad-input"}


def test_links_between_pages_resolve():
    index = _text("index.md")
    for name in PAGES[1:]:
        assert f"]({name})" in index, f"index.md does not link {name}"
    link = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)")
    for name in PAGES:
        for target, anchor in link.findall(_text(name)):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path = (DOCS / target).resolve() if target else DOCS / name
            assert path.exists(), f"{name} links to missing {target}"
            if anchor and path.suffix == ".md":
                assert anchor in anchors(path.read_text(encoding="utf-8")), f"{name} links to missing {target}#{anchor}"


RUNNABLE = [name for name in PAGES if (DOCS / name).is_file() and _text(name).startswith(RUN)]


@pytest.mark.slow
@pytest.mark.parametrize("name", RUNNABLE)
def test_page_examples_run(name, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    shutil.copytree(ROOT / "cases" / "data", tmp_path / "cases" / "data")  # as from the root of a checkout
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    text = _text(name)
    namespace: dict = {"__name__": f"docs.{name[:-3]}"}
    try:
        for line, code in python_blocks(text):
            # pad with newlines so that a traceback names the page and its line
            exec(compile("\n" * (line - 1) + code, str(DOCS / name), "exec"), namespace)  # noqa: S102
    finally:
        plt.close("all")


# --- API reference ---------------------------------------------------------------------------------------------


def _build_api():
    spec = importlib.util.spec_from_file_location("build_api", DOCS / "build_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_api_reference_renders_every_public_module(tmp_path):
    pytest.importorskip("pdoc", reason="pdoc is not installed (pip install -e '.[docs]' or '.[test]')")
    import gridplan

    build_api = _build_api()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        modules = build_api.build(tmp_path / "api")
    pdoc_warnings = [w for w in caught if "pdoc" in str(w.filename)]
    assert not pdoc_warnings, [str(w.message) for w in pdoc_warnings]
    # every public module found on disk, independently of the build script
    public = sorted(m.name for m in pkgutil.iter_modules([str(ROOT / "src" / "gridplan")]) if not m.name.startswith("_"))
    assert {"crs", "grids", "simulate", "cli"} <= set(public)
    assert sorted(m.split(".", 1)[1] for m in modules if "." in m) == public
    assert (tmp_path / "api" / "index.html").is_file() and (tmp_path / "api" / "gridplan.html").is_file()
    for name in public:
        page = tmp_path / "api" / "gridplan" / f"{name}.html"
        assert page.is_file(), f"no API page for gridplan.{name}"
        html = page.read_text(encoding="utf-8")
        module = importlib.import_module(f"gridplan.{name}")
        # the module docstring is rendered at the top of its page
        assert module.__doc__, f"gridplan.{name} has no module docstring"
        rendered = re.search(r'<div class="docstring">(.*?)</div>', html, re.S)
        first_word = re.sub(r"\W+$", "", module.__doc__.split()[0])
        assert rendered and re.sub(r"<[^>]+>", "", rendered.group(1)).strip().startswith(first_word), name
        for public_name in getattr(module, "__all__", []):
            assert f'id="{public_name}"' in html, f"gridplan.{name}.{public_name} is missing from its API page"
    assert f"gridplan {gridplan.__version__}" in (tmp_path / "api" / "gridplan.html").read_text(encoding="utf-8")


# --- release metadata ------------------------------------------------------------------------------------------


def test_version_is_the_same_everywhere_and_has_a_changelog_entry():
    import gridplan
    from gridplan.cli import build_parser

    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"$', pyproject, re.M).group(1)
    assert gridplan.__version__ == version
    assert build_parser().get_default("version_string") == f"gridplan {version}"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M), version
    assert re.search(r"^## \[Unreleased\]$", changelog, re.M)


def test_licence_file_is_the_one_pyproject_names():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^license = "MIT"$', pyproject, re.M)
    assert re.search(r'^license-files = \["LICENSE"\]$', pyproject, re.M)
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "gridplan developers" in licence


def test_readme_links_resolve():
    """Every relative link and image of the README points at a file (and a heading) of the checkout."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", readme)
    assert len(links) > 20
    for target, anchor in links:
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path = (ROOT / target).resolve()
        assert path.exists(), f"README.md links to missing {target}"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path.read_text(encoding="utf-8")), f"README.md links to missing {target}#{anchor}"
    assert all(f"](docs/{name})" in readme for name in PAGES[1:]), "the README's table links every guide page"
