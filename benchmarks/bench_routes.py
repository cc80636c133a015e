"""Routes benchmark: gridplan.routes.balance_routes (min-max k Chinese postman) vs the FHK k-split.

Four sections, every solution verified independently of gridplan before it is reported:

1. **mmkcpp**: the 57 CARPLIB files of ``shared/bench/mmkcpp`` (one file per distinct graph: 23 gdb,
   10 val) for k in {2, 3, 4, 5, 6, 8, 10}: gridplan's longest walk against the reference lower
   bound (``baseline.csv``), the Frederickson-Hecht-Kim (FHK) k-split recomputed in the same run
   with ``reference.py``, and the proven optima of ``optima.csv``. Every plan is checked with
   ``reference.check_walks`` (closed at the depot, real edges, all edges covered, reported lengths)
   and its edge ids are checked against its node sequences. Targets (issue): mean max/LB <= 1.045
   over gdb and val, every proven optimum matched, never worse than FHK, under 10 s per case.
2. **district**: the synthetic sample districts (seeds 0, 1, 2; ~2,600 nodes / ~3,900 edges),
   district-wide, k in {2, 3, 4, 6, 8, 10}.
3. **changan**: the largest component of the real Chang'an (Xi'an) streets, k in {2, 4, 8}.
4. **grids**: per-grid patrols on the sample district's 15-grid plan, chiefs_per_grid in {1, 2, 3}.
5. **large**: our own larger graphs (street-like lattices of ~100-2,000 edges, three of the sample
   district's grids as whole networks), k in {2, 4, 6, 10}: gap to the bound and time.

Baselines on the real-size networks: ``reference.postman_tour`` uses networkx's
``min_weight_matching``, which is far too slow on a thousand odd nodes, so the exact FHK is only
tried below ``--fhk-max-odd`` odd nodes, in a child process capped at ``--fhk-cap`` seconds
(otherwise the row says it was skipped and why). Always reported instead: the FHK k-split of a
postman tour whose odd nodes are matched greedily (shortest pair first; scipy shortest paths),
split and checked with ``reference.frederickson_walks`` / ``check_walks``. Its tour is longer
than an optimal postman tour, so it is a weaker but honest baseline; its time includes building
the tour.

Run:  .venv/bin/python benchmarks/bench_routes.py                     (all sections, ~30 min on 2 cores)
      .venv/bin/python benchmarks/bench_routes.py --quick             (a handful of cases, ~2-3 min)
      .venv/bin/python benchmarks/bench_routes.py --only mmkcpp --csv mmkcpp_routes.csv
      .venv/bin/python benchmarks/bench_routes.py --only district,changan --time-limit 10

Without ``--time-limit`` gridplan does a fixed amount of work (results do not depend on the
machine, times do). Times are wall-clock seconds of the ``balance_routes`` call.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import math
import multiprocessing as mp
import os
import platform
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared" if (ROOT / "shared").exists() else Path("/work/shared")
MMKCPP = SHARED / "bench" / "mmkcpp"
DATA = SHARED / "data"

KS = (2, 3, 4, 5, 6, 8, 10)
DISTRICT_KS = (2, 3, 4, 6, 8, 10)
CHANGAN_KS = (2, 4, 8)
CHIEFS = (1, 2, 3)
QUICK_GRAPHS = ("gdb1", "gdb14", "gdb19", "val1A")
QUICK_KS = (2, 3, 4)
EPS = 1e-6


# ---------------------------------------------------------------------------------------- helpers
def load_reference(folder: Path) -> Any:
    """The benchmark's reference.py as a module (it is not a package)."""
    spec = importlib.util.spec_from_file_location("mmkcpp_reference", folder / "reference.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(folder / "reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def err(e: BaseException) -> str:
    """One-line error text for a table cell."""
    text = f"{type(e).__name__}: {e}".replace("|", "/").replace("\n", " ")
    return text[:160] + ("..." if len(text) > 160 else "")


def fmt(x: Any, spec: str = ".3f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return format(float(x), spec)
    return str(x)


def table(header: list[str], align: str | None = None) -> None:
    print("| " + " | ".join(header) + " |")
    align = align or "l" * len(header)
    print("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|", flush=True)


def row(cells: list[Any]) -> None:
    print("| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in cells) + " |", flush=True)


def check_edge_walks(
    edges: dict[Any, tuple[Any, Any, float]],
    walks: list[list[Any]],
    walk_edges: list[list[Any]],
    lengths: np.ndarray,
    depots: list[Any],
    required: set[Any],
) -> None:
    """Verify a plan through its edge ids: every walk is closed at its depot, its i-th edge joins its
    i-th and (i+1)-th node, the edge lengths add up to the reported length, and the walks together
    traverse every required edge id. ``edges`` maps edge id -> (u, v, length)."""
    covered: set[Any] = set()
    for r, (nodes, ids, length, depot) in enumerate(zip(walks, walk_edges, lengths, depots)):
        if len(nodes) != len(ids) + 1:
            raise AssertionError(f"route {r}: {len(nodes)} nodes for {len(ids)} edges")
        if nodes[0] != depot or nodes[-1] != depot:
            raise AssertionError(f"route {r} is not closed at its depot {depot!r}")
        total = 0.0
        for j, e in enumerate(ids):
            if e not in edges:
                raise AssertionError(f"route {r} uses unknown edge id {e!r}")
            a, b, w = edges[e]
            if {a, b} != {nodes[j], nodes[j + 1]}:
                raise AssertionError(f"route {r}: edge {e!r} ({a}-{b}) does not join {nodes[j]!r}-{nodes[j + 1]!r}")
            total += w
            covered.add(e)
        if not math.isclose(total, float(length), rel_tol=1e-9, abs_tol=1e-6):
            raise AssertionError(f"route {r}: reported length {length} != sum of its edges {total}")
    missing = required - covered
    if missing:
        raise AssertionError(f"{len(missing)} required edges never walked, e.g. {sorted(map(str, missing))[:3]}")


def as_cost_graph(edges: dict[Any, tuple[Any, Any, float]]) -> nx.MultiGraph:
    """networkx MultiGraph with attribute ``cost`` (what reference.py reads)."""
    g = nx.MultiGraph()
    for a, b, w in edges.values():
        g.add_edge(a, b, cost=float(w))
    return g


def greedy_postman_tour(g: nx.MultiGraph, depot: Any) -> tuple[list[Any], float]:
    """Closed postman tour from the depot: odd nodes matched greedily (shortest pair first).

    Not optimal (an optimal tour needs a minimum-weight perfect matching); a fast stand-in so
    that the FHK k-split can be run on networks with thousands of odd nodes.
    """
    from scipy import sparse
    from scipy.sparse import csgraph

    nodes = list(g.nodes)
    pos = {x: i for i, x in enumerate(nodes)}
    best: dict[tuple[int, int], float] = {}
    for a, b, c in g.edges(data="cost"):
        i, j = sorted((pos[a], pos[b]))
        if i != j and c < best.get((i, j), np.inf):
            best[(i, j)] = c
    ij = np.array(list(best), dtype=np.int64).reshape(-1, 2)
    w = np.maximum(np.fromiter(best.values(), float, len(best)), 1e-12)  # csgraph drops explicit zeros
    adj = sparse.csr_matrix((w, (ij[:, 0], ij[:, 1])), shape=(len(nodes), len(nodes)))
    odd = np.array([pos[x] for x in nodes if g.degree(x) % 2], dtype=np.int64)
    h = nx.MultiGraph(g)
    if len(odd):
        dist, pred = csgraph.dijkstra(adj, directed=False, indices=odd, return_predecessors=True)
        iu, ju = np.triu_indices(len(odd), 1)
        d = dist[iu, odd[ju]]
        used = np.zeros(len(odd), bool)
        for p in np.argsort(d, kind="stable"):
            a, b = iu[p], ju[p]
            if used[a] or used[b]:
                continue
            used[a] = used[b] = True
            x, target = odd[b], odd[a]  # walk back from odd[b] to odd[a] along the predecessors of row a
            while x != target:
                y = pred[a, x]
                key = (min(x, y), max(x, y))
                h.add_edge(nodes[y], nodes[x], cost=best[key])
                x = y
            if used.all():
                break
    tour = [depot] + [v for _, v in nx.eulerian_circuit(h, source=depot)]
    return tour, float(sum(c for *_, c in h.edges(data="cost")))


def _exact_fhk_child(conn: Any, ref_folder: str, g: nx.MultiGraph, depot: Any, ks: tuple[int, ...]) -> None:
    try:
        ref = load_reference(Path(ref_folder))
        t = time.perf_counter()
        tour, _ = ref.postman_tour(g, depot)
        tour_s = time.perf_counter() - t
        out = {}
        for k in ks:
            t = time.perf_counter()
            walks, lengths = ref.frederickson_walks(g, depot, k, tour)
            ref.check_walks(g, depot, walks, lengths)
            out[k] = (max(lengths), tour_s + time.perf_counter() - t)
        conn.send(("ok", out))
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        conn.send(("error", err(e)))


def exact_fhk(ref: Any, g: nx.MultiGraph, depot: Any, ks: tuple[int, ...], max_odd: int, cap: float) -> tuple[dict, str]:
    """FHK on an optimal postman tour (reference.py) for every k, or ({}, why it was skipped)."""
    odd = sum(1 for x in g if g.degree(x) % 2)
    if odd > max_odd:
        return {}, (
            f"exact FHK skipped: {odd} odd nodes > --fhk-max-odd {max_odd} (networkx min_weight_matching "
            f"would take well over a minute)"
        )
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_exact_fhk_child, args=(child, str(Path(ref.__file__).parent), g, depot, ks), daemon=True)
    t = time.perf_counter()
    p.start()
    ready = parent.poll(cap)
    if not ready:
        p.terminate()
        p.join()
        return {}, f"exact FHK skipped: reference.postman_tour took more than {cap:.0f} s ({odd} odd nodes)"
    status, out = parent.recv()
    p.join()
    if status != "ok":
        return {}, f"exact FHK failed: {out}"
    return out, f"exact FHK: {odd} odd nodes, {time.perf_counter() - t:.1f} s in all"


def route(network: Any, k: int, args: argparse.Namespace, **kw: Any) -> tuple[Any, float]:
    from gridplan.routes import balance_routes

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = balance_routes(network, k, seed=args.seed, time_limit=args.time_limit, effort=args.effort, progress=False, **kw)
    return plan, time.perf_counter() - t


# ---------------------------------------------------------------------------------------- 1. mmkcpp
def section_mmkcpp(args: argparse.Namespace) -> None:
    print(f"## 1. MM k-CPP benchmark (CARPLIB {args.instances or 'gdb, val'}; one file per distinct graph)\n")
    if not (MMKCPP / "reference.py").exists():
        print(f"skipped: {MMKCPP} not found\n")
        return
    ref = load_reference(MMKCPP)
    folder = Path(args.instances) if args.instances else MMKCPP / "instances"
    base = pd.read_csv(MMKCPP / "baseline.csv")
    base = base[base["set"].isin(["gdb", "val"])]
    graphs = base.drop_duplicates("graph")["graph"].tolist()
    if args.instances:  # another family (e.g. benchmarks/data/mmkcpp_egl): bounds computed here
        base = base.iloc[:0]
        graphs = [f.stem for f in folder.glob("*.dat")]
    graphs = sorted(graphs, key=lambda s: (s[:3], int("".join(c for c in s[3:] if c.isdigit()) or 0), s))
    ks = tuple(args.k) if args.k else KS
    if args.graphs:
        graphs = [x for x in graphs if x in set(args.graphs.split(","))]
    elif args.quick:
        graphs, ks = [x for x in graphs if x in QUICK_GRAPHS], tuple(args.k) if args.k else QUICK_KS
    graph_of = dict(zip(base["instance"], base["graph"]))
    optima: dict[tuple[str, int], dict] = {}
    if (MMKCPP / "optima.csv").exists():
        for r in pd.read_csv(MMKCPP / "optima.csv").to_dict("records"):
            optima[(graph_of.get(r["instance"], r["instance"]), int(r["k"]))] = r
    lb_of = {(r["graph"], int(r["k"])): r for r in base[base["instance"] == base["graph"]].to_dict("records")}
    print(
        f"{len(graphs)} graphs × k in {list(ks)}; seed {args.seed}, time_limit {args.time_limit}, effort {args.effort}. "
        "LB = reference lower bound (baseline.csv); FHK = reference.frederickson recomputed in this run; "
        "optimum = optima.csv ([low, high] where not proven); verified = reference.check_walks and edge ids.\n"
    )
    cols = [
        "instance",
        "set",
        "nodes",
        "edges",
        "k",
        "LB",
        "gridplan max",
        "max/LB",
        "frederickson_max",
        "max/FHK",
        "optimum",
        "matched?",
        "seconds",
        "stopped_by",
        "verified",
    ]
    table(cols, "llrrrrrrrrllrll")
    rows: list[dict] = []
    for name in graphs:
        try:
            g, depot = ref.read_instance(str(folder / f"{name}.dat"))
            h = nx.MultiGraph()
            h.add_nodes_from(g.nodes)
            for a, b, key, c in g.edges(keys=True, data="cost"):
                h.add_edge(a, b, key=key, length=c)
            edges = {(a, b, key): (a, b, c) for a, b, key, c in h.edges(keys=True, data="length")}
            tour, cpp = ref.postman_tour(g, depot)
        except Exception as e:  # noqa: BLE001
            for k in ks:
                rows.append({"instance": name, "set": name[:3], "k": k, "error": err(e)})
                row([name, name[:3], "", "", k, "", f"error: {err(e)}"] + [""] * 8)
            continue
        for k in ks:
            r: dict[str, Any] = {
                "instance": name,
                "set": name[:3],
                "nodes": g.number_of_nodes(),
                "edges": g.number_of_edges(),
                "k": k,
            }
            b = lb_of.get((name, k))
            try:
                r["LB"] = float(b["LB"]) if b is not None else ref.lower_bound(g, depot, k, cpp)
            except Exception as e:  # noqa: BLE001
                r["LB"] = float("nan")
                r["note"] = f"LB error: {err(e)}"
            opt = optima.get((name, k))
            try:
                fw, fl = ref.frederickson_walks(g, depot, k, tour)
                ref.check_walks(g, depot, fw, fl)
                r["frederickson_max"] = max(fl)
                if b is not None and abs(r["frederickson_max"] - float(b["frederickson_max"])) > 1e-3:
                    r["note"] = f"FHK {r['frederickson_max']:.3f} != baseline.csv {b['frederickson_max']}"
            except Exception as e:  # noqa: BLE001
                r["frederickson_max"] = float("nan")
                r["note"] = f"FHK error: {err(e)}"
            try:
                plan, secs = route(h, k, args, depot=depot)
                mx = plan.max_length
                ref.check_walks(g, depot, plan.walks, list(plan.lengths))
                check_edge_walks(edges, plan.walks, plan.walk_edges, plan.lengths.to_numpy(), [depot] * k, set(edges))
                if mx < r["LB"] - EPS:
                    raise AssertionError(f"longest walk {mx} below the reference lower bound {r['LB']}")
                r.update(
                    {
                        "gridplan_max": mx,
                        "gridplan_LB": plan.lower_bound,
                        "ratio": mx / r["LB"],
                        "ratio_fhk": mx / r["frederickson_max"],
                        "seconds": secs,
                        "stopped_by": plan.params.get("stopped_by"),
                        "iterations": plan.params.get("iterations"),
                        "exact_postman": plan.params.get("lower_bound_exact_postman"),
                        "verified": True,
                    }
                )
            except Exception as e:  # noqa: BLE001
                r["error"] = err(e)
            if opt is not None:
                lo, hi = float(opt["optimum_low"]), float(opt["optimum_high"])
                r["optimum"] = f"{hi:g}" if opt["status"] == "optimal" else f"[{lo:g}, {hi:g}]"
                r["optimum_status"] = opt["status"]
                if "gridplan_max" in r:
                    if opt["status"] == "optimal":
                        r["matched"] = r["gridplan_max"] <= hi + EPS
                    else:
                        r["matched_bounds"] = "≤ best found" if r["gridplan_max"] <= hi + EPS else "above best found"
            rows.append(r)
            if "error" in r:
                cells = [
                    name,
                    r["set"],
                    r["nodes"],
                    r["edges"],
                    k,
                    r["LB"],
                    f"error: {r['error']}",
                    "",
                    r["frederickson_max"],
                    "",
                    r.get("optimum", ""),
                    "",
                    "",
                    "",
                    "no",
                ]
            else:
                matched = r.get("matched", r.get("matched_bounds", ""))
                cells = [
                    name,
                    r["set"],
                    r["nodes"],
                    r["edges"],
                    k,
                    r["LB"],
                    r["gridplan_max"],
                    fmt(r["ratio"], ".4f"),
                    r["frederickson_max"],
                    fmt(r["ratio_fhk"], ".4f"),
                    r.get("optimum", ""),
                    matched,
                    fmt(r["seconds"], ".2f"),
                    r["stopped_by"],
                    "yes",
                ]
            row(cells)
            if r.get("note"):
                print(f"|  | note: {r['note']} |" + " |" * (len(cols) - 2))
    summarise_mmkcpp(rows, ks)
    if args.csv:
        keys = [
            "instance",
            "set",
            "nodes",
            "edges",
            "k",
            "LB",
            "gridplan_max",
            "gridplan_LB",
            "ratio",
            "frederickson_max",
            "ratio_fhk",
            "optimum",
            "optimum_status",
            "matched",
            "matched_bounds",
            "seconds",
            "stopped_by",
            "iterations",
            "exact_postman",
            "verified",
            "error",
            "note",
        ]
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items()})
        print(f"\nper-case table written to {args.csv}")
    print()


def summarise_mmkcpp(rows: list[dict], ks: tuple[int, ...]) -> None:
    ok = [r for r in rows if "error" not in r]
    errors = len(rows) - len(ok)
    print(f"\n### Summary: mean ratio over distinct graphs ({len(ok)} cases solved and verified, {errors} errors)\n")
    table(["set", "graphs", "method"] + [f"k={k}" for k in ks] + ["all k"], "lrl" + "r" * (len(ks) + 1))
    df = pd.DataFrame(ok)
    if df.empty:
        print("\nno solved case\n")
        return
    fhk_ok = df.dropna(subset=["frederickson_max"]).copy()
    fhk_ok["fhk_ratio"] = fhk_ok["frederickson_max"] / fhk_ok["LB"]
    for s in sorted(df["set"].unique()):
        sub = df[df["set"] == s]
        if sub.empty:
            continue
        for label, frame, col in (("gridplan max/LB", sub, "ratio"), ("FHK max/LB", fhk_ok[fhk_ok["set"] == s], "fhk_ratio")):
            per_k = [frame.loc[frame["k"] == k, col].mean() for k in ks]
            row(
                [s, sub["instance"].nunique(), label]
                + [fmt(x, ".3f") for x in per_k]
                + [fmt(np.nanmean(per_k) if not all(map(np.isnan, per_k)) else np.nan, ".3f")]
            )
    both = df.dropna(subset=["frederickson_max"])
    mean_ours = float(df["ratio"].mean())
    mean_fhk = float(fhk_ok["fhk_ratio"].mean()) if len(fhk_ok) else float("nan")
    same = both["ratio"].mean() / (both["frederickson_max"] / both["LB"]).mean() if len(both) else float("nan")
    proven = [r for r in rows if r.get("optimum_status") == "optimal"]
    matched = sum(bool(r.get("matched")) for r in proven)
    bounds = [r for r in rows if r.get("optimum_status") == "bounds" and "gridplan_max" in r]
    within = sum(r["gridplan_max"] <= float(r["optimum"].strip("[]").split(",")[1]) + EPS for r in bounds)
    worse = both[both["gridplan_max"] > both["frederickson_max"] + EPS]
    secs = df["seconds"]
    print()
    table(["figure", "value", "target"], "lrl")
    row(["mean gridplan max/LB, all solved cases (sets pooled)", fmt(mean_ours, ".4f"), "<= 1.045"])
    row(["mean FHK max/LB, same run", fmt(mean_fhk, ".4f"), ""])
    row(["ratio of the means (gridplan / FHK, same cases)", fmt(same, ".4f"), "< 1"])
    row(["proven optima matched", f"{matched} / {len(proven)}", "all"])
    row(["optima.csv 'bounds' cases at or below the best walk found", f"{within} / {len(bounds)}", ""])
    row(
        [
            "cases worse than FHK",
            f"{len(worse)}"
            + (" (" + ", ".join(f"{a} k={b}" for a, b in zip(worse["instance"], worse["k"])) + ")" if len(worse) else ""),
            "0",
        ]
    )
    row(["seconds per case: max / mean", f"{secs.max():.2f} / {secs.mean():.2f}", "max < 10"])
    row(["cases over 10 s", f"{int((secs > 10).sum())}", "0"])
    row(
        [
            "cases stopped at gridplan's own lower bound (rounded up for integer costs)",
            f"{int((df['stopped_by'] == 'lower_bound').sum())}",
            "",
        ]
    )
    row(["errors (solve or verification)", f"{errors}", "0"])


# ---------------------------------------------------------------------------------------- 2./3. networks
def network_case(label: str, net: Any, ks: tuple[int, ...], args: argparse.Namespace, ref: Any | None) -> None:
    """District-wide patrols on one StreetNetwork, with the FHK baselines on the same depot."""
    e = net.edges
    edges = {i: (int(a), int(b), float(w)) for i, a, b, w in zip(e.index, e["u"], e["v"], e["length"])}
    xy = net.nodes[["x", "y"]].to_numpy(float)
    u, v, w = e["u"].to_numpy(), e["v"].to_numpy(), e["length"].to_numpy(float)
    centre = np.average((xy[u] + xy[v]) / 2, axis=0, weights=np.maximum(w, 1e-9))
    ends = np.unique(np.r_[u, v])
    depot = int(ends[np.argmin(np.hypot(*(xy[ends] - centre).T))])  # gridplan's default depot rule
    g = as_cost_graph(edges)
    odd = sum(1 for x in g if g.degree(x) % 2)
    greedy: tuple[list, float, float] | None = None
    greedy_note = ""
    if ref is not None:
        try:
            t = time.perf_counter()
            tour, tour_len = greedy_postman_tour(g, depot)
            greedy = (tour, tour_len, time.perf_counter() - t)
        except Exception as e:  # noqa: BLE001
            greedy_note = f"greedy-tour FHK failed: {err(e)}"
        exact, exact_note = exact_fhk(ref, g, depot, ks, args.fhk_max_odd, args.fhk_cap)
    else:
        exact, exact_note = {}, "FHK skipped: reference.py not found"
    for k in ks:
        cells: list[Any] = [label, net.n_nodes, net.n_edges, k]
        try:
            plan, secs = route(net, k, args, depot=depot)
            check_edge_walks(edges, plan.walks, plan.walk_edges, plan.lengths.to_numpy(), [depot] * k, set(edges))
            mx = plan.max_length
            cells += [
                mx / 1000,
                plan.lower_bound / 1000,
                fmt(plan.gap, ".1%"),
                fmt(secs, ".1f"),
                plan.params.get("stopped_by"),
                plan.params.get("lower_bound_exact_postman"),
                "yes",
            ]
        except Exception as e:  # noqa: BLE001
            mx = float("nan")
            cells += [f"error: {err(e)}", "", "", "", "", "", "no"]
        if greedy is not None:
            try:
                t = time.perf_counter()
                fw, fl = ref.frederickson_walks(g, depot, k, greedy[0])
                ref.check_walks(g, depot, fw, fl)
                fs = greedy[2] + time.perf_counter() - t
                cells += [max(fl) / 1000, fmt(fs, ".1f"), fmt(mx / max(fl), ".3f")]
            except Exception as e:  # noqa: BLE001
                cells += [f"error: {err(e)}", "", ""]
        else:
            cells += ["", "", ""]
        if k in exact:
            cells += [exact[k][0] / 1000, fmt(exact[k][1], ".1f"), fmt(mx / exact[k][0], ".3f")]
        else:
            cells += ["skipped", "", ""]
        row(cells)
    print(
        f"|  | {odd} odd nodes, depot node {depot} (the node nearest the streets' centre, gridplan's default); "
        f"greedy-matching tour {greedy[1] / 1000:.1f} km in {greedy[2]:.1f} s; "
        if greedy
        else f"|  | {greedy_note}; ",
        end="",
    )
    print(exact_note + " |" + " |" * 15, flush=True)


NET_COLS = [
    "network",
    "nodes",
    "edges",
    "k",
    "max km",
    "LB km",
    "gap",
    "seconds",
    "stopped_by",
    "postman bound exact",
    "verified",
    "FHK greedy-tour max km",
    "FHK greedy s",
    "max/FHK greedy",
    "FHK exact max km",
    "FHK exact s",
    "max/FHK exact",
]
NET_ALIGN = "lrrrrrrrlllrrrrrr"


def section_district(args: argparse.Namespace) -> None:
    import gridplan

    print("## 2. Sample districts, district-wide patrols\n")
    ref = load_reference(MMKCPP) if (MMKCPP / "reference.py").exists() else None
    seeds = (0,) if args.quick else (0, 1, 2)
    ks = tuple(args.k) if args.k else ((2, 4) if args.quick else DISTRICT_KS)
    print(
        f"seeds {list(seeds)}, k in {list(ks)}; seed {args.seed}, time_limit {args.time_limit}, effort {args.effort}; "
        "gap = max / gridplan's lower bound - 1; verified = walks checked through their edge ids.\n"
    )
    table(NET_COLS, NET_ALIGN)
    for s in seeds:
        try:
            net = gridplan.sample_district(seed=s).network
        except Exception as e:  # noqa: BLE001
            row([f"sample district seed {s}", f"error: {err(e)}"] + [""] * (len(NET_COLS) - 2))
            continue
        network_case(f"sample district seed {s}", net, ks, args, ref)
    print()


def section_changan(args: argparse.Namespace) -> None:
    import geopandas as gpd

    from gridplan.crs import metric_crs
    from gridplan.network import StreetNetwork

    print("## 3. Real Chang'an (Xi'an) streets, largest component\n")
    path = DATA / "changan_roads.gpkg"
    if not path.exists():
        print(f"skipped: {path} not found\n")
        return
    ref = load_reference(MMKCPP) if (MMKCPP / "reference.py").exists() else None
    ks = tuple(args.k) if args.k else ((2,) if args.quick else CHANGAN_KS)
    try:
        roads = gpd.read_file(path)
        crs = metric_crs(tuple(roads.total_bounds))
        lines = roads.drop(columns=["length"], errors="ignore").to_crs(crs)  # gridplan measures lengths itself
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = StreetNetwork.from_lines(lines)
            net = full.largest_component()
    except Exception as e:  # noqa: BLE001
        print(f"error building the network: {err(e)}\n")
        return
    print(
        f"{len(roads)} links projected to {crs.to_string()}; {full.n_components} components, the largest "
        f"{net.n_nodes} nodes / {net.n_edges} edges / {net.total_length_km:.1f} km. k in {list(ks)}.\n"
    )
    table(NET_COLS, NET_ALIGN)
    network_case("Chang'an largest component", net, ks, args, ref)
    print()


# ---------------------------------------------------------------------------------------- 4. grids
def section_grids(args: argparse.Namespace) -> None:
    import gridplan
    from gridplan.grids import partition
    from gridplan.routes import balance_routes

    print("## 4. Per-grid patrols, sample district (seed 0) in 15 grids\n")
    chiefs = (2,) if args.quick else CHIEFS
    tl = args.time_limit if args.time_limit is not None else (2.0 if args.quick else None)
    try:
        d = gridplan.sample_district(seed=0)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = partition(d, 15, seed=0)
        print(
            f"partition(district, 15, seed=0): {time.perf_counter() - t:.1f} s. depot='centroid'; seed {args.seed}, "
            f"time_limit per grid {tl}{' (--quick)' if args.quick and args.time_limit is None else ''}, "
            f"effort {args.effort}. wall s = the balance_routes call; solver s = params['seconds'].\n"
        )
    except Exception as e:  # noqa: BLE001
        print(f"error building the plan: {err(e)}\n")
        return
    table(
        [
            "chiefs per grid",
            "routes",
            "wall s",
            "solver s",
            "worst gap",
            "mean gap",
            "max route km",
            "mean deadhead share",
            "grids in several pieces",
            "stopped_by",
            "verified",
        ],
        "rrrrrrrrrll",
    )
    for c in chiefs:
        try:
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rp = balance_routes(
                    plan, chiefs_per_grid=c, depot="centroid", seed=args.seed, time_limit=tl, effort=args.effort, progress=False
                )
            wall = time.perf_counter() - t
            pg = rp.per_grid
            e = rp.edges
            edges = {i: (a, b, float(w)) for i, a, b, w in zip(e.index, e["u"], e["v"], e["length"])}
            required = set(e.index[e["required"].to_numpy(bool)])
            check_edge_walks(edges, rp.walks, rp.walk_edges, rp.lengths.to_numpy(), rp.routes["depot"].tolist(), required)
            served = e[e["required"].to_numpy(bool)]
            chief_grid = dict(zip(rp.routes["chief"], rp.routes["grid"]))
            wrong = int((served["chief"].astype(object).map(chief_grid) != served["grid"]).sum())
            if wrong:
                raise AssertionError(f"{wrong} street edges are swept by a chief of another grid")
            stops = ", ".join(f"{k}: {v}" for k, v in pg["stopped_by"].value_counts().items())
            row(
                [
                    c,
                    rp.n_routes,
                    fmt(wall, ".1f"),
                    fmt(rp.params.get("seconds"), ".1f"),
                    fmt(pg["gap"].max(), ".1%"),
                    fmt(pg["gap"].mean(), ".1%"),
                    rp.max_length / 1000,
                    fmt(pg["deadhead_share"].mean(), ".1%"),
                    int((pg["pieces"] > 1).sum()),
                    stops,
                    "yes",
                ]
            )
        except Exception as e:  # noqa: BLE001
            row([c, f"error: {err(e)}"] + [""] * 9)
            if args.verbose:
                traceback.print_exc()
    print()


# ---------------------------------------------------------------------------------------- 5. larger graphs
LARGE_SIZES = (100, 200, 500, 1000, 2000)
LARGE_KS = (2, 4, 6, 10)


def street_lattice(target_edges: int, seed: int) -> Any:
    """A street-like test network of about ``target_edges`` edges (our own, not from a library).

    A jittered lattice of blocks 80-160 m wide with about 12 % of its street edges removed (never
    disconnecting it, so there are dead ends, T junctions and irregular blocks as in real streets),
    as lines in EPSG:4545 metres.
    """
    import geopandas as gpd
    import shapely

    from gridplan.network import StreetNetwork

    rng = np.random.default_rng(seed)
    side = max(3, int(round(math.sqrt(target_edges / 2 / 0.88))) + 1)
    xs = np.cumsum(rng.uniform(80, 160, side))
    ys = np.cumsum(rng.uniform(80, 160, side))
    jitter = rng.normal(0, 8, (side, side, 2))
    pt = lambda i, j: (422000 + xs[i] + jitter[i, j, 0], 2937000 + ys[j] + jitter[i, j, 1])  # noqa: E731
    pairs = [((i, j), (i + 1, j)) for i in range(side - 1) for j in range(side)]
    pairs += [((i, j), (i, j + 1)) for i in range(side) for j in range(side - 1)]
    g = nx.Graph(pairs)
    for a, b in [pairs[i] for i in rng.permutation(len(pairs))]:
        if g.number_of_edges() <= target_edges:
            break
        g.remove_edge(a, b)
        if not nx.has_path(g, a, b):
            g.add_edge(a, b)
    lines = [shapely.LineString([pt(*a), pt(*b)]) for a, b in g.edges]
    return StreetNetwork.from_lines(gpd.GeoDataFrame(geometry=lines, crs="EPSG:4545"))


def _large_case(label: str, net: Any, ks: tuple[int, ...], args: argparse.Namespace) -> list[dict]:
    e = net.edges
    edges = {i: (int(a), int(b), float(w)) for i, a, b, w in zip(e.index, e["u"], e["v"], e["length"])}
    out = []
    for k in ks:
        try:
            plan, secs = route(net, k, args, components="largest")
            need = set(plan.edges.index[plan.edges["required"].to_numpy(bool)])
            depot = plan.params["depot"]
            check_edge_walks(edges, plan.walks, plan.walk_edges, plan.lengths.to_numpy(), [depot] * k, need)
            row(
                [
                    label,
                    net.n_nodes,
                    net.n_edges,
                    k,
                    plan.max_length / 1000,
                    plan.lower_bound / 1000,
                    fmt(plan.max_length / plan.lower_bound, ".3f"),
                    fmt(secs, ".1f"),
                    plan.params.get("stopped_by"),
                    "yes",
                ]
            )
            out.append({"edges": net.n_edges, "k": k, "ratio": plan.max_length / plan.lower_bound, "seconds": secs})
        except Exception as ex:  # noqa: BLE001
            row([label, net.n_nodes, net.n_edges, k, f"error: {err(ex)}", "", "", "", "", "no"])
    return out


def section_large(args: argparse.Namespace) -> None:
    import geopandas as gpd

    import gridplan
    from gridplan.grids import partition
    from gridplan.network import StreetNetwork

    print("## 5. Larger graphs of our own: street-like lattices and the sample district's grids (issue 23)\n")
    ks = tuple(args.k) if args.k else ((2, 6) if args.quick else LARGE_KS)
    sizes = (100, 500) if args.quick else LARGE_SIZES
    print(
        f"seed {args.seed}, time_limit {args.time_limit}, effort {args.effort}; ratio = longest walk / gridplan's "
        "lower bound; every plan verified through its edge ids (closed at the depot, every street walked).\n"
    )
    table(["network", "nodes", "edges", "k", "max km", "LB km", "max/LB", "seconds", "stopped_by", "verified"], "lrrrrrrrll")
    rows: list[dict] = []
    for size in sizes:
        rows += _large_case(f"street lattice ~{size}", street_lattice(size, seed=size), ks, args)
    d = gridplan.sample_district(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = partition(d, 15, seed=0)
    lines = d.network.edges
    mid = gpd.GeoSeries(lines.geometry.interpolate(0.5, normalized=True), crs=lines.crs)
    grids = plan.grids.to_crs(lines.crs)
    street_km = [float(lines.length[mid.within(g)].sum()) for g in grids.geometry]
    for i in np.argsort(street_km)[[0, len(street_km) // 2, -1]]:
        inside = lines[mid.within(grids.geometry.iloc[int(i)]).to_numpy()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = StreetNetwork.from_lines(gpd.GeoDataFrame(geometry=inside.geometry.values, crs=lines.crs))
        rows += _large_case(f"sample grid {grids['code'].iloc[int(i)]}", net, ks, args)
    if rows:
        df = pd.DataFrame(rows)
        small = df[df["edges"] <= 200]
        by_size = df.groupby(pd.cut(df["edges"], [0, 250, 700, 1500, 5000]), observed=True)["ratio"].mean()
        print(
            f"\nmean max/LB {df['ratio'].mean():.3f} (worst {df['ratio'].max():.3f}) over {len(df)} cases; "
            f"up to 200 edges: slowest {small['seconds'].max() if len(small) else float('nan'):.1f} s; "
            "by size: " + ", ".join(f"{int(size.right)}: {ratio:.3f}" for size, ratio in by_size.items()) + "\n"
        )


# ---------------------------------------------------------------------------------------- main
SECTIONS = {
    "mmkcpp": section_mmkcpp,
    "district": section_district,
    "changan": section_changan,
    "grids": section_grids,
    "large": section_large,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--only", default="all", help="comma-separated sections: mmkcpp, district, changan, grids, large (default all)"
    )
    p.add_argument("--quick", action="store_true", help="a handful of cases per section (smoke run)")
    p.add_argument("--csv", help="write the per-case mmkcpp table to this CSV file")
    p.add_argument("--graphs", help="mmkcpp: comma-separated graph names (e.g. gdb1,val3A)")
    p.add_argument(
        "--instances",
        help="mmkcpp: a folder of other CARPLIB files (e.g. benchmarks/data/mmkcpp_egl); lower bounds computed in the run",
    )
    p.add_argument("--k", type=int, nargs="+", help="override the numbers of routes of every whole-network section")
    p.add_argument("--seed", type=int, default=0, help="balance_routes seed (default 0)")
    p.add_argument("--time-limit", type=float, default=None, help="balance_routes time_limit (default none: fixed work)")
    p.add_argument("--effort", type=float, default=1.0, help="balance_routes effort (default 1)")
    p.add_argument(
        "--fhk-max-odd",
        type=int,
        default=None,
        help="try the exact FHK (networkx matching) only below this many odd nodes (default 600; 200 with --quick)",
    )
    p.add_argument("--fhk-cap", type=float, default=60.0, help="seconds allowed for the exact FHK postman tour (default 60)")
    p.add_argument("--verbose", action="store_true", help="print tracebacks of errors")
    args = p.parse_args()
    if args.fhk_max_odd is None:
        args.fhk_max_odd = 200 if args.quick else 600
    only = list(SECTIONS) if args.only == "all" else [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        p.error(f"unknown section(s) {bad}; choose from {list(SECTIONS)}")
    import gridplan

    print(
        f"# Routes benchmark ({dt.date.today()}): gridplan {getattr(gridplan, '__version__', '?')}, "
        f"Python {platform.python_version()}, networkx {nx.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.machine()})\n"
    )
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]) + "\n")
    t0 = time.perf_counter()
    for s in only:
        t = time.perf_counter()
        try:
            SECTIONS[s](args)
        except Exception as e:  # noqa: BLE001 - one section failing must not stop the others
            print(f"\nsection {s} failed: {err(e)}\n")
            if args.verbose:
                traceback.print_exc()
        print(f"({s}: {time.perf_counter() - t:.0f} s)\n", flush=True)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
