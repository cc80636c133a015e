"""Public signatures carry no ``typing.Any`` (issue 19, item 5), and ``gridplan.typing`` stays light.

Every public module of ``src/gridplan`` (no ``_`` in its path) is read from the syntax tree; every
public function, every public method of a public class and its ``__init__`` has its parameters and
return annotation checked. ``Any`` counts wherever it appears, also behind a name the module binds to
an expression that holds it (an alias such as ``ArrayLike = Any``). Allowed: the value type of a
``dict[str, Any]`` / ``Mapping[str, Any]`` (a ``params`` mapping of mixed values) and ``**kwargs``
(keywords forwarded to another library, e.g. ``GeoDataFrame.explore``).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "gridplan"

#: Known exceptions, each with why it is left. A fixed one must be taken off the list (checked below).
KNOWN: dict[str, str] = {}

_MAPPINGS = {"dict", "Mapping", "MutableMapping"}


def _public_modules() -> list[Path]:
    """The package root and every module with no ``_`` at the start of any part of its path."""
    paths = sorted(PKG.rglob("*.py"))
    return [PKG / "__init__.py"] + [p for p in paths if not any(part.startswith("_") for part in p.relative_to(PKG).parts)]


def _any_aliases(tree: ast.Module) -> set[str]:
    """Module-level names bound to an expression that mentions ``Any``."""
    names: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(n, ast.Name) and n.id == "Any" for n in ast.walk(value)):
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _has_any(annotation: ast.expr, aliases: set[str]) -> bool:
    """Whether ``annotation`` holds ``Any`` (or an alias of it) outside a ``dict[str, Any]`` value."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return _has_any(ast.parse(annotation.value, mode="eval").body, aliases)
    if isinstance(annotation, ast.Name):
        return annotation.id == "Any" or annotation.id in aliases
    if isinstance(annotation, ast.Attribute):
        return annotation.attr == "Any"
    if isinstance(annotation, ast.Subscript):
        base = annotation.value
        name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
        args = annotation.slice
        if name in _MAPPINGS and isinstance(args, ast.Tuple) and len(args.elts) == 2:
            key, value = args.elts
            if isinstance(key, ast.Name) and key.id == "str" and isinstance(value, ast.Name) and value.id == "Any":
                return False  # a params mapping of mixed values
        return _has_any(base, aliases) or _has_any(args, aliases)
    return any(_has_any(child, aliases) for child in ast.iter_child_nodes(annotation) if isinstance(child, ast.expr))


def _is_overload(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(d, ast.Name) and d.id == "overload" or isinstance(d, ast.Attribute) and d.attr == "overload"
        for d in fn.decorator_list
    )


def _signatures(body: list[ast.stmt], public: Callable[[str], bool]) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions of ``body`` callers see: the ``@overload`` stubs of an overloaded one, not its implementation."""
    found: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    overloaded: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and public(node.name):
            if _is_overload(node):
                overloaded.add(node.name)
            if _is_overload(node) or node.name not in overloaded:
                found.append(node)
    return found


def _public_functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = [(fn.name, fn) for fn in _signatures(tree.body, lambda name: not name.startswith("_"))]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            methods = _signatures(node.body, lambda name: not name.startswith("_") or name == "__init__")
            found += [(f"{node.name}.{fn.name}", fn) for fn in methods]
    return found


def any_in_public_signatures() -> list[str]:
    """``module.function(parameter)`` (or ``-> return``) for every ``Any`` in a public signature."""
    offenders = []
    for path in _public_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = _any_aliases(tree)
        module = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        for name, fn in _public_functions(tree):
            a = fn.args
            params = [*a.posonlyargs, *a.args, *a.kwonlyargs] + ([a.vararg] if a.vararg else [])
            for p in params:
                if p.annotation is not None and _has_any(p.annotation, aliases):
                    offenders.append(f"{module}.{name}({p.arg}: {ast.unparse(p.annotation)})")
            if fn.returns is not None and _has_any(fn.returns, aliases):
                offenders.append(f"{module}.{name}() -> {ast.unparse(fn.returns)}")
    return offenders


def test_the_checker_finds_any_and_allows_params_mappings():
    tree = ast.parse(
        "ArrayLike = Any\n"
        "def f(a: Any, b: dict[str, Any], c: list[Any], d: ArrayLike, e: Mapping[str, Any] | None, **kw: Any) -> Any: ...\n"
        "def _private(a: Any) -> None: ...\n"
        "class C:\n"
        "    def __init__(self, x: 'Sequence[Any]') -> None: ...\n"
        "    def _hidden(self, y: Any) -> None: ...\n"
        "    def g(self, *values: Any) -> dict[Any, str]: ...\n"
        "@overload\n"
        "def h(x: float) -> float: ...\n"
        "@overload\n"
        "def h(x: Sequence[Any]) -> list[float]: ...\n"
        "def h(x: Any) -> Any: ...\n"
    )
    aliases = _any_aliases(tree)
    assert aliases == {"ArrayLike"}
    flagged = {
        (name, p.arg)
        for name, fn in _public_functions(tree)
        for p in [*fn.args.args, *fn.args.kwonlyargs] + ([fn.args.vararg] if fn.args.vararg else [])
        if p.annotation is not None and _has_any(p.annotation, aliases)
    }
    assert flagged == {("f", "a"), ("f", "c"), ("f", "d"), ("C.__init__", "x"), ("C.g", "values"), ("h", "x")}
    assert [fn.lineno for name, fn in _public_functions(tree) if name == "h"] == [9, 11]  # the stubs, not the body
    returns = {name for name, fn in _public_functions(tree) if fn.returns is not None and _has_any(fn.returns, aliases)}
    assert returns == {"f", "C.g"}


def test_public_signatures_carry_no_any():
    offenders = [o for o in any_in_public_signatures() if not any(o.startswith(k) for k in KNOWN)]
    assert offenders == [], (
        "typing.Any in public signatures (use gridplan.typing's aliases, a Protocol or object):\n" + "\n".join(offenders)
    )


def test_known_exceptions_are_still_needed():
    found = any_in_public_signatures()
    fixed = [k for k in KNOWN if not any(o.startswith(k) for o in found)]
    assert fixed == [], f"no longer carry Any: take them off KNOWN: {fixed}"


def test_the_typing_module_imports_no_optional_library():
    code = (
        "import sys, gridplan, gridplan.typing as t\n"
        "assert 'distributed' not in sys.modules and 'matplotlib.axes' not in sys.modules, 'imported too early'\n"
        "print(sorted(t.__all__))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(SRC)}
    )
    assert "CRSLike" in out.stdout


def test_type_checker_only_names_resolve_on_demand():
    import gridplan.typing as t

    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes

    assert t.Axes is Axes
    distributed = pytest.importorskip("distributed")
    assert t.DaskClient is distributed.Client
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        t.Nothing  # noqa: B018


def test_a_simulation_result_fits_simulation_like():
    """``plan_report(simulation=)`` takes a :class:`SimulationLike`: the result class must keep fitting it."""
    import inspect

    from gridplan.simulate import SimulationResult
    from gridplan.typing import SimulationLike

    assert isinstance(SimulationResult.per_grid, property) and isinstance(SimulationLike.per_grid, property)
    extra = list(inspect.signature(SimulationResult.summary).parameters.values())[1:]
    assert all(p.default is not inspect.Parameter.empty for p in extra), "summary() must be callable without arguments"
