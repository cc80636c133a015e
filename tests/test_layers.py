"""The package's layers: no import cycle and no upward import, also not inside functions.

Every ``import`` in every module of ``src/gridplan`` is read from the syntax tree (module level and
inside functions alike; imports under ``if TYPE_CHECKING:`` are for the type checker only and never
run, so they are left out). Each module sits in one layer of :data:`LAYERS`, in the order of
../shared/DESIGN.md's module table (``network`` below ``district``, which builds its street network;
``catalogue`` and ``plot`` low, as they depend on ``errors`` only; each private kernel beside the module
that uses it). A module may import only modules of *lower* layers, private kernels included; the
modules of one private package (``_partition``, ``_synthetic``) may import each other, without cycles.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import networkx as nx
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "gridplan"

#: Lowest first. A module may import any module of an earlier layer, never one of its own or a later one.
LAYERS: list[list[str]] = [
    ["errors", "typing", "_version", "_precision", "_routing", "_speeds"],
    ["_validate"],  # the argument checks every module uses (it imports errors only)
    ["_io", "_times", "_workclock", "_dask", "plot", "_shifts", "_covering"],
    ["crs"],
    ["network"],
    ["_osm"],
    ["district"],
    ["units", "_synthetic", "_synthetic_city", "_sameplan"],
    ["_balance", "_partition"],
    ["_multibalance"],
    ["grids"],
    ["_location", "_grid_streets", "_regions", "_mixed"],
    ["posts", "_roster"],
    ["staffing", "teams"],
    ["routes"],
    ["_pointpath", "catalogue"],
    ["locate", "ledger", "_caseflow", "frontage"],
    ["_fit", "evaluation"],
    ["simulate", "datasets"],
    ["report"],
    ["city"],
    ["_cli_city"],
    ["cli"],
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top(name: str) -> str:
    """The layer key of a module: its first component below ``gridplan`` (kernels count as their package)."""
    return name.split(".")[1] if name.count(".") else name


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(path: Path) -> set[str]:
    """Every gridplan module ``path`` imports when it runs (module level and inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gridplan")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "gridplan":
                for alias in node.names:  # `from . import x` imports the module gridplan.x
                    sub = f"{target}.{alias.name}"
                    found.add(sub if _exists(sub) else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return found


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def _graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for path in sorted(PKG.rglob("*.py")):
        name = _module_name(path)
        g.add_node(name)
        for target in _imports(path):
            g.add_edge(name, target)
    return g


def _rank() -> dict[str, int]:
    return {m: i for i, layer in enumerate(LAYERS) for m in layer}


def test_every_module_has_a_layer():
    tops = {_top(m) for m in _graph() if m != "gridplan"}
    assert tops - set(_rank()) == set(), "place the new modules in LAYERS"


def test_the_reader_sees_imports_inside_functions_and_skips_type_checking():
    g = _graph()
    assert g.has_edge("gridplan.report", "gridplan.grids")  # module level
    assert g.has_edge("gridplan.city", "gridplan.report")  # inside a function
    assert g.has_edge("gridplan.district", "gridplan.network")  # inside a function (District.network)
    assert g.has_edge("gridplan.datasets", "gridplan._synthetic.roster")  # `from ._synthetic.roster import`
    assert g.has_edge("gridplan.report", "gridplan._io")  # `from . import _io`
    assert not g.has_edge("gridplan._osm", "gridplan.district")  # under TYPE_CHECKING only


def test_no_import_cycle():
    g = _graph()
    g.remove_node("gridplan")  # the package root re-exports the API: it imports, nothing imports it
    cycles = list(nx.simple_cycles(g))
    assert cycles == [], f"import cycles: {cycles[:5]}"


def test_nothing_imports_the_package_root():
    importers = sorted(m for m, t in _graph().edges if t == "gridplan")
    assert importers == [], f"{importers} import the package root (use gridplan._version for __version__)"


def test_no_upward_import():
    rank = _rank()
    upward = []
    for src, dst in _graph().edges:
        if "gridplan" in (src, dst):
            continue
        a, b = _top(src), _top(dst)
        if a == b:  # inside one private kernel package
            continue
        if rank[b] >= rank[a]:
            upward.append(f"{src} -> {dst}")
    assert upward == [], "upward or same-layer imports:\n" + "\n".join(sorted(upward))


@pytest.mark.slow
@pytest.mark.parametrize(
    "lower, upper",
    [
        ("grids", "report"),
        ("simulate", "datasets"),
        ("_location", "posts"),
        ("_roster", "staffing"),
        ("_synthetic_city", "datasets"),
    ],
)
def test_the_breaks_of_issue_19_stay_fixed(lower, upper):
    assert not _graph().has_edge(f"gridplan.{lower}", f"gridplan.{upper}")


def test_walking_speeds_are_named_once():
    """Residents' walk and road chiefs' patrol: two constants in gridplan._speeds, no literal speed elsewhere."""
    from gridplan import _speeds, routes
    from gridplan._caseflow import Supervisors
    from gridplan.posts import Posts
    from gridplan.simulate import IncidentModel

    assert (_speeds.RESIDENT_WALK_M_PER_MIN, _speeds.PATROL_WALK_M_PER_MIN) == (80.0, 60.0)
    assert routes.WALKING_SPEED_M_PER_MIN is _speeds.PATROL_WALK_M_PER_MIN
    assert IncidentModel().patrol_speed_m_per_min == _speeds.PATROL_WALK_M_PER_MIN
    assert Supervisors().speed_m_per_min == _speeds.PATROL_WALK_M_PER_MIN
    assert inspect.signature(Posts.coverage).parameters["speed_m_per_min"].default == _speeds.RESIDENT_WALK_M_PER_MIN
    literal = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "_speeds.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.AnnAssign, ast.Assign)):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in targets]
                value = node.value
            elif isinstance(node, ast.arguments):
                args = node.args[len(node.args) - len(node.defaults) :] + node.kwonlyargs
                defaults = list(node.defaults) + list(node.kw_defaults)
                for arg, value in zip(args, defaults):
                    if (
                        "speed" in arg.arg
                        and not arg.arg.startswith("response")
                        and isinstance(value, ast.Constant)
                        and isinstance(value.value, (int, float))
                    ):
                        literal.append(f"{path.name}: {arg.arg}={value.value}")
                continue
            else:
                continue
            if (
                any(
                    n and ("patrol_speed" in n or n == "speed_m_per_min" or "WALK" in n.upper() and "SPEED" in n.upper())
                    for n in names
                )
                and isinstance(value, ast.Constant)
                and isinstance(value.value, (int, float))
            ):
                literal.append(f"{path.name}: {names}={value.value}")
    assert literal == [], literal
