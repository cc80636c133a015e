"""Build the HTML API reference of gridplan from its docstrings with pdoc.

Usage (from the repository root, with the ``[docs]`` extra installed)::

    .venv/bin/python docs/build_api.py            # writes docs/api/ (git-ignored)
    .venv/bin/python docs/build_api.py /tmp/api   # or anywhere else

Every public module of the package (``gridplan.*`` not starting with ``_``) gets a page;
docstrings are read as numpydoc.
"""

from __future__ import annotations

import os
import pkgutil
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")


def public_modules() -> list[str]:
    """``gridplan`` and its public submodules, in the order pdoc should list them."""
    import gridplan

    subs = sorted(m.name for m in pkgutil.iter_modules(gridplan.__path__) if not m.name.startswith("_"))
    # pdoc adds the submodules gridplan.__all__ names (crs, errors) itself; name the others explicitly
    return ["gridplan"] + [f"gridplan.{name}" for name in subs if name not in getattr(gridplan, "__all__", ())]


def build(out: str | Path) -> list[str]:
    """Write the API reference to ``out``; return the modules documented (all public ones)."""
    import pdoc
    import pdoc.render

    import gridplan

    out = Path(out)
    modules = public_modules()
    pdoc.render.configure(docformat="numpy", footer_text=f"gridplan {gridplan.__version__}", show_source=True)
    pdoc.pdoc(*modules, output_directory=out)
    documented = sorted({"gridplan"} | {f"gridplan.{p.stem}" for p in (out / "gridplan").glob("*.html")})
    return documented


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent / "api"
    documented = build(out)
    print(f"wrote the API reference of {len(documented)} modules to {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
