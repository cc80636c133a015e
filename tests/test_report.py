"""The HTML report: its content, its escaping, the CLI, and the page in a real headless browser."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gridplan import District
from gridplan.cli import main
from gridplan.datasets import sample_roster
from gridplan.errors import DataError, GridplanWarning
from gridplan.grids import GridPlan, partition, resplit
from gridplan.posts import place_posts
from gridplan.report import plan_report, write_report
from gridplan.routes import balance_routes
from gridplan.simulate import simulate
from gridplan.staffing import assign_staff

from .conftest import metric_layers

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- a tiny HTML reader
class _Page(HTMLParser):
    """Tables (caption, header, rows of cell text), images, iframes, title, h1, metas, section ids."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.images: list[dict] = []
        self.iframes: list[dict] = []
        self.metas: list[dict] = []
        self.sections: list[str] = []
        self.title = ""
        self.h1 = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in.append(tag)
        if tag == "table":
            self.tables.append(SimpleNamespace(caption="", header=[], rows=[], row_classes=[]))
        elif tag == "tr":
            self._row = []
            if self.tables:
                self.tables[-1].row_classes.append(a.get("class"))
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(a)
        elif tag == "iframe":
            self.iframes.append(a)
        elif tag == "meta":
            self.metas.append(a)
        elif tag == "section":
            self.sections.append(a.get("id", ""))

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            t = self.tables[-1]
            if "thead" in self._in:
                t.header = self._row
            else:
                t.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in and self._in[-1] == "caption" and self.tables:
            self.tables[-1].caption += data
        if self._in and self._in[-1] == "title":
            self.title += data
        if "h1" in self._in:
            self.h1 += data

    def table(self, caption_start: str) -> SimpleNamespace:
        found = [t for t in self.tables if t.caption.startswith(caption_start)]
        assert found, f"no table captioned {caption_start!r}; captions: {[t.caption for t in self.tables]}"
        return found[0]

    def grid_table(self) -> pd.DataFrame:
        t = next(t for t in self.tables if "grid-row" in t.row_classes)
        return pd.DataFrame(t.rows, columns=t.header).set_index("code")


def _km(v: float) -> str:
    return f"{v:,.2f}"


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def small():
    """A 4-grid plan of the 4 km test square with posts, staff, patrols and a short simulation."""
    district = District.from_frames(**metric_layers())
    plan = partition(district, 4, seed=0)
    posts = place_posts(plan, 6, progress=False)
    staffing = assign_staff(plan, sample_roster(plan, seed=0), posts=posts)
    routes = balance_routes(plan, chiefs_per_grid=2, posts=posts, progress=False, effort=0.2)
    sim = simulate(plan, posts=posts, staffing=staffing, routes=routes, days=1, runs=3, seed=0, progress=False)
    old = GridPlan.from_district_grids(district)
    return {"district": district, "plan": plan, "posts": posts, "staffing": staffing, "routes": routes, "sim": sim, "old": old}


@pytest.fixture(scope="module")
def full_page(small):
    s = small
    return plan_report(
        s["plan"],
        previous=s["old"],
        posts=s["posts"],
        staffing=s["staffing"],
        routes=s["routes"],
        simulation=s["sim"],
        title="方块区 report",
    )


# --------------------------------------------------------------------------- content
def test_page_is_self_contained_utf8_html_with_embedded_maps(full_page):
    assert full_page.startswith("<!DOCTYPE html>")
    head = full_page[: full_page.index("</head>")]
    assert head.index('<meta charset="utf-8">') < head.index("<title>")  # the charset comes first
    page = _Page(full_page)
    assert page.title == "方块区 report" and page.h1 == "方块区 report"
    # every map is a PNG inside the page; nothing points outside it
    assert len(page.images) >= 5  # summary, change, posts, patrols, simulation
    for img in page.images:
        assert img["alt"]
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix)
        assert base64.b64decode(img["src"][len(prefix) :], validate=True).startswith(PNG_MAGIC)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", full_page)
    assert "<script" not in full_page and "@import" not in full_page and "url(" not in full_page
    assert page.sections == ["summary", "grids", "rankings", "change", "posts", "staffing", "patrols", "simulation"]


def test_grid_table_numbers_match_the_plan_and_its_inputs(small, full_page):
    plan, posts, staffing, routes = small["plan"], small["posts"], small["staffing"], small["routes"]
    t = _Page(full_page).grid_table()
    g = plan.grids.set_index("code")
    assert list(t.index) == list(g.index)
    for code, row in g.iterrows():
        r = t.loc[code]
        assert r["population"] == f"{row['population']:,.0f}"
        assert r["workload (population)"] == f"{row['weight']:,.0f}"
        assert r["workload / mean"] == f"{row['weight'] / g['weight'].mean():.3f}"
        assert r["street km"] == _km(row["street_km"]) and r["area km²"] == _km(row["area_km2"])
        assert r["units"] == str(row["n_units"])
        assert r["subdistrict"] == row["subdistrict"]
        # staffing, posts and patrols per grid
        assert r["staff"] == str(staffing.teams.loc[code, "size"])
        assert r["vacancies"] == str(staffing.teams.loc[code, "missing"])
        p = posts.posts
        assert r["key posts"] == str(int(((p["grid"] == code) & (p["kind"] == "post")).sum()))
        assert r["liaison stations"] == str(int(((p["grid"] == code) & (p["kind"] == "station")).sum()))
        mine = routes.routes[routes.routes["grid"] == code]["length"]
        assert r["road chiefs"] == str(len(mine)) == "2"
        assert r["longest patrol km"] == _km(mine.max() / 1000)
        assert r["shortest patrol km"] == _km(mine.min() / 1000)
        share = posts.coverage().per_grid.loc[code, "share"]
        assert r["covered (≤ 1,000 m walk)"] == f"{100 * share:.1f} %"
    assert t["key posts"].astype(int).sum() == posts.n_posts


def test_rankings_order_the_grids(small, full_page):
    plan, sim = small["plan"], small["sim"]
    page = _Page(full_page)
    g = plan.grids.set_index("code")
    heavy = [r[0] for r in page.table("Heaviest 4 grids").rows]
    light = [r[0] for r in page.table("Lightest 4 grids").rows]
    by_code = g.assign(c=g.index)
    assert heavy == list(by_code.sort_values(["weight", "c"], ascending=[False, True]).index)
    assert light == list(by_code.sort_values(["weight", "c"]).index)
    assert heavy[0] == g["weight"].idxmax() and light[0] == g["weight"].idxmin()
    pp = plan.polsby_popper()
    assert page.table("Least compact 4 grids").rows[0][0] == pp.idxmin()
    longest = page.table("Longest patrols").rows[0]
    assert longest[0] == small["routes"].routes.groupby("grid")["length"].max().idxmax()
    # simulation: slowest face to face first, lowest overall compliance first
    per = sim.per_grid
    slow = page.table("Slowest 4 grids in the simulation (face_to_face_min)")
    assert slow.rows[0][0] == per["face_to_face_min"].idxmax()
    values = [float(r[1].replace(",", "")) for r in slow.rows]
    assert values == sorted(values, reverse=True)
    low = page.table("Lowest compliance: 4 grids (compliance_deadline)")
    shares = [float(r[1].rstrip(" %")) for r in low.rows]
    assert shares == sorted(shares) and shares[0] == pytest.approx(100 * per["compliance_deadline"].min(), abs=0.05)


def test_simulation_kpis_every_column_shown(small, full_page):
    sim = small["sim"]
    page = _Page(full_page)
    kpis = page.table("Key figures")
    summary = sim.summary()
    assert [r[0] for r in kpis.rows] == list(summary.index)
    assert kpis.header[1:] == list(summary.columns)
    row = next(r for r in kpis.rows if r[0] == "compliance_7min")
    assert row[1] == f"{100 * summary.loc['compliance_7min', 'mean']:.1f} %"
    per = page.table("Per grid")
    assert per.header[1:] == list(sim.per_grid.columns)
    assert sorted(r[0] for r in per.rows) == sorted(small["plan"].grids["code"])
    # the 7 min / 1 / 2 / 3 day compliance columns are all there, as percentages
    for col in ("compliance_7min", "compliance_1d", "compliance_2d", "compliance_3d"):
        j = per.header.index(col)
        assert all(c == "—" or c.endswith(" %") for c in (r[j] for r in per.rows))


def test_previous_plan_section_only_when_given(small, full_page):
    plan, old = small["plan"], small["old"]
    assert plan.previous is None
    without = plan_report(plan)
    assert "Change from the previous plan" not in without and 'id="change"' not in without
    page = _Page(full_page)
    change = plan.compare(old)
    facts = dict(page.table(f"{old.n_grids} → {plan.n_grids} grids").rows)
    assert facts["disruption"] == f"{100 * change.summary['disruption']:.1f} %"
    assert facts["disruption_lower_bound"] == f"{100 * change.summary['disruption_lower_bound']:.1f} %"
    assert facts["moved_units"] == str(change.summary["moved_units"])
    transfers = page.table("Transfers").rows
    assert len(transfers) == len(change.transfers)
    assert [(r[0], r[1]) for r in transfers] == list(zip(change.transfers["old"], change.transfers["new"]))
    assert len(page.table("Each new grid").rows) == plan.n_grids
    # a redraw knows its previous plan; previous=False leaves it out
    redraw = resplit(small["district"], 3, seed=0)
    assert "Change from the previous plan (2 → 3 grids)" in plan_report(redraw)
    assert "Change from the previous plan" not in plan_report(redraw, previous=False)
    with pytest.raises(DataError, match="no previous plan"):
        plan_report(plan, previous=True)


def test_user_text_is_escaped():
    layers = metric_layers()
    layers["communities"]["name"] = ['<i>东</i>社区 & "co"', "西社区"]
    layers["communities"]["subdistrict"] = ["<script>alert(1)</script>街道", "<script>alert(1)</script>街道"]
    district = District.from_frames(**layers, name="<b>方块区</b> & 'x'")
    plan = partition(district, 2, seed=0)
    title = '<img src=x onerror="alert(1)"> 报告'
    page = plan_report(plan, title=title)
    for raw in ("<b>方块区</b>", "<script>alert(1)</script>", "<i>东</i>", title):
        assert raw not in page
    assert "&lt;b&gt;方块区&lt;/b&gt; &amp; &#x27;x&#x27;" in page
    parsed = _Page(page)
    assert parsed.title == title and parsed.h1 == title
    grid_rows = parsed.grid_table()
    assert set(grid_rows["subdistrict"]) == {"<script>alert(1)</script>街道"}
    assert any('<i>东</i>社区 & "co"' in c for c in grid_rows["communities"])  # names, not codes, when known


def test_duck_typed_simulation_and_plain_route_and_post_layers(small):
    plan = small["plan"]
    codes = list(plan.grids["code"])

    class Result:  # the documented contract: summary() and per_grid, nothing else
        per_grid = pd.DataFrame(
            {"response_minutes": [12.5, 30.25, 7.0, 18.0], "compliance_1d": [0.5, 1.0, 0.75, 0.9]},
            index=pd.Index(codes, name="grid"),
        )

        def summary(self):
            return pd.Series({"incidents": 120, "compliance_1d": 0.8, "response_minutes": 16.9375})

    routes_layer = small["routes"].routes  # a GeoDataFrame, as read back from the patrols GeoPackage
    posts_layer = small["posts"].posts
    page = _Page(plan_report(plan, simulation=Result(), routes=routes_layer, posts=posts_layer))
    kpis = dict(page.table("Key figures").rows)
    assert kpis == {"incidents": "120", "compliance_1d": "80.0 %", "response_minutes": "16.94"}
    slow = page.table("Slowest 4 grids in the simulation (response_minutes)").rows
    assert [r[0] for r in slow] == [codes[1], codes[3], codes[0], codes[2]]
    assert [r[1] for r in slow] == ["30.25", "18.00", "12.50", "7.00"]
    low = page.table("Lowest compliance: 4 grids (compliance_1d)").rows
    assert [r[1] for r in low] == ["50.0 %", "75.0 %", "90.0 %", "100.0 %"]
    t = page.grid_table()
    assert list(t["road chiefs"]) == ["2"] * 4 and "covered (≤ 1,000 m walk)" not in t.columns
    assert t["key posts"].astype(int).sum() == small["posts"].n_posts


def test_bad_inputs_say_what_is_wrong(small, tmp_path):
    plan = small["plan"]
    with pytest.raises(DataError, match="needs a GridPlan"):
        plan_report(plan.grids)
    stray = small["posts"].posts.assign(grid="9901990019999")
    with pytest.raises(DataError, match="posts name grids that are not in the plan.*9901990019999"):
        plan_report(plan, posts=stray)
    with pytest.raises(DataError, match="routes= must be a RoutePlan"):
        plan_report(plan, routes=pd.DataFrame({"chief": ["a"]}))
    with pytest.raises(DataError, match="simulation= must be"):
        plan_report(plan, simulation=object())
    with pytest.raises(DataError, match="staffing= must be a Staffing"):
        plan_report(plan, staffing=small["posts"])
    with pytest.raises(DataError, match="top must be"):
        plan_report(plan, top=0)
    with pytest.raises(DataError, match="is a folder"):
        write_report(plan, tmp_path)


def test_interactive_map_inlined_or_noted(small, monkeypatch):
    pytest.importorskip("folium")
    plan = small["plan"]
    page = _Page(plan_report(plan, interactive=True, posts=small["posts"]))
    assert len(page.iframes) == 1
    inner = page.iframes[0]["srcdoc"]  # unescaped by the parser: a whole folium page
    assert "leaflet" in inner.lower() and plan.grids["code"].iloc[0] in inner
    monkeypatch.setitem(sys.modules, "folium", None)  # as if folium were not installed
    with pytest.warns(GridplanWarning, match="folium is not installed"):
        text = plan_report(plan, interactive=True)
    assert "<iframe" not in text and "folium is not installed" in text


def test_grid_plan_report_method_and_write_report(small, tmp_path):
    plan = small["plan"]
    text = plan.report()
    assert text == plan_report(plan)  # the same page, every time: no timestamps, deterministic maps
    out = plan.report(tmp_path / "sub" / "r.html", title="报告")
    assert out == tmp_path / "sub" / "r.html"
    assert _Page(out.read_text(encoding="utf-8")).title == "报告"
    assert out.read_bytes().decode("utf-8").count('class="grid-row"') == plan.n_grids


# --------------------------------------------------------------------------- command line
def test_cli_report_end_to_end(small, tmp_path):
    s = small
    s["plan"].to_file(tmp_path / "plan.gpkg")
    s["old"].to_file(tmp_path / "old.gpkg")
    s["posts"].to_file(tmp_path / "posts.gpkg")
    s["routes"].to_file(tmp_path / "patrols.gpkg")
    s["district"].to_file(tmp_path / "district.gpkg")
    s["staffing"].to_file(tmp_path / "staffing.gpkg")
    s["sim"].to_file(tmp_path / "sim.gpkg")
    out = tmp_path / "report.html"
    assert (
        main(
            [
                "report",
                str(tmp_path / "plan.gpkg"),
                "--out",
                str(out),
                "--previous",
                str(tmp_path / "old.gpkg"),
                "--posts",
                str(tmp_path / "posts.gpkg"),
                "--routes",
                str(tmp_path / "patrols.gpkg"),
                "--staffing",
                str(tmp_path / "staffing.gpkg"),
                "--simulation",
                str(tmp_path / "sim.gpkg"),
                "--streets",
                str(tmp_path / "district.gpkg"),
                "--top",
                "3",
                "--quiet",
            ]
        )
        == 0
    )
    page = _Page(out.read_text(encoding="utf-8"))
    assert page.sections == ["summary", "grids", "rankings", "change", "posts", "staffing", "patrols", "simulation"]
    # the saved staffing and simulation give the same sections as the objects in memory
    direct = _Page(plan_report(s["plan"], staffing=s["staffing"], simulation=s["sim"], top=3))
    for caption in ("Staffing", "Key figures", "Per grid", "Lowest compliance: 3 grids"):
        assert page.table(caption).rows == direct.table(caption).rows, caption
    t = page.grid_table()
    g = s["plan"].grids.set_index("code")
    assert list(t.index) == list(g.index)
    assert list(t["population"]) == [f"{v:,.0f}" for v in g["population"]]
    lengths = s["routes"].routes.groupby("grid")["length"].max().reindex(g.index)
    assert list(t["longest patrol km"]) == [_km(v / 1000) for v in lengths]
    teams = s["staffing"].teams.reindex(g.index)
    assert list(t["staff"]) == [f"{v:,.0f}" for v in teams["size"]]
    cover = s["posts"].coverage().per_grid["share"].reindex(g.index)  # posts read with their streets
    assert list(t["covered (≤ 1,000 m walk)"]) == [f"{100 * v:.1f} %" for v in cover]
    assert set(t["communities"]) <= {"东社区", "西社区", "东社区, 西社区"}  # names from the district
    assert len(page.table("Heaviest 3 grids").rows) == 3
    facts = dict(page.table("Plan").rows)
    assert facts["district"] == "方块区" and facts["streets, communities, population"] == "as given"
    # the plan alone is enough
    assert main(["report", str(tmp_path / "plan.gpkg"), "--out", str(tmp_path / "alone.html"), "--quiet"]) == 0
    alone = _Page((tmp_path / "alone.html").read_text(encoding="utf-8"))
    assert alone.sections == ["summary", "grids", "rankings"]
    # the saved plan remembers that its district's data were given, not generated
    assert dict(alone.table("Plan").rows)["streets, communities, population"] == "as given"


def test_saved_plan_of_a_synthetic_district_says_synthetic(tmp_path):
    district = District.from_frames(**metric_layers(), synthetic=True)
    plan = partition(district, 2, seed=0)
    assert plan.synthetic and "synthetic streets" in repr(plan)
    ax = plan.plot()
    assert ax.get_title().endswith("synthetic streets")
    plan.to_file(tmp_path / "plan.gpkg")
    back = GridPlan.read_file(tmp_path / "plan.gpkg")
    assert back.synthetic is True and back.params["synthetic"] is True and "synthetic streets" in repr(back)
    assert main(["report", str(tmp_path / "plan.gpkg"), "--out", str(tmp_path / "r.html"), "--quiet"]) == 0
    facts = dict(_Page((tmp_path / "r.html").read_text(encoding="utf-8")).table("Plan").rows)
    assert facts["streets, communities, population"].startswith("synthetic")
    # a plan saved before gridplan kept the flag: not known
    del back.params["synthetic"]
    assert back.synthetic is None and "synthetic" not in repr(back)
    facts = dict(_Page(plan_report(back)).table("Plan").rows)
    assert facts["streets, communities, population"].startswith("not known")


def test_cli_report_errors(small, tmp_path, capsys, monkeypatch):
    # the CLI logger keeps the stderr of the first main() call; give it this test's
    monkeypatch.setattr(logging.getLogger("gridplan.cli"), "handlers", [])
    small["plan"].to_file(tmp_path / "plan.gpkg")
    assert main(["report", str(tmp_path / "nope.gpkg"), "--out", str(tmp_path / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert (
        main(["report", str(tmp_path / "plan.gpkg"), "--out", str(tmp_path / "r.html"), "--routes", str(tmp_path / "plan.gpkg")])
        == 2
    )
    assert "has no 'routes' layer" in capsys.readouterr().err
    for option, kind in (("--simulation", "SimulationResult"), ("--staffing", "Staffing")):
        assert (
            main(["report", str(tmp_path / "plan.gpkg"), "--out", str(tmp_path / "r.html"), option, str(tmp_path / "plan.gpkg")])
            == 2
        )
        assert f"holds a gridplan 'GridPlan', not a '{kind}'" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------- in a real browser
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _browser() -> str | None:
    env = os.environ.get("GRIDPLAN_BROWSER")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


BROWSER = _browser()
needs_browser = pytest.mark.skipif(
    BROWSER is None,
    reason="no headless browser: Chromium/Chrome not found (chromium, chromium-browser, google-chrome on PATH, "
    "or GRIDPLAN_BROWSER); on Debian install it with `apt-get install -y --no-install-recommends chromium`",
)


@pytest.fixture(scope="module")
def report_file(small, full_page, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(full_page, encoding="utf-8")
    return path


def _not_blank(png: Path, width: int, height: int) -> None:
    from matplotlib import image

    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC)
    pixels = image.imread(png)[..., :3]
    assert pixels.shape[:2] == (height, width)
    flat = (pixels.reshape(-1, 3) * 255).round().astype(np.uint8)
    ink = (flat < 235).any(axis=1).mean()  # share of pixels that are not (near) white
    colours = len(np.unique(flat, axis=0))
    assert ink > 0.02 and colours > 100, f"screenshot looks blank: {ink:.1%} ink, {colours} colours"


@pytest.mark.slow
@needs_browser
def test_report_in_headless_browser_dom_and_screenshot(report_file, full_page, tmp_path):
    url = report_file.as_uri()
    dom = subprocess.run(
        [BROWSER, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile1'}", "--dump-dom", url], capture_output=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-2000:]
    parsed = _Page(dom.stdout.decode("utf-8"))
    source = _Page(full_page)
    assert parsed.title == "方块区 report"  # decoded as UTF-8 by the browser
    assert len(parsed.tables) == len(source.tables) and len(parsed.images) == len(source.images)
    assert len(parsed.grid_table()) == 4
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [
            BROWSER,
            *BROWSER_FLAGS,
            f"--user-data-dir={tmp_path / 'profile2'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2000",
            f"--screenshot={shot}",
            url,
        ],
        capture_output=True,
        timeout=120,
    )
    log = run.stderr.decode(errors="replace")
    assert run.returncode == 0, log[-2000:]
    # the page has no script: any console message or uncaught error is a fault
    console = [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    _not_blank(shot, 1280, 2000)


class _DevTools:
    """The smallest Chrome DevTools protocol client: commands and events over tornado's websocket."""

    def __init__(self, ws) -> None:
        self.ws, self.events, self._id = ws, [], 0

    async def _read(self, timeout: float = 60) -> dict:
        raw = await asyncio.wait_for(self.ws.read_message(), timeout)
        if raw is None:
            raise RuntimeError("the browser closed the DevTools connection")
        return json.loads(raw)

    async def call(self, method: str, **params):
        self._id += 1
        my = self._id
        await self.ws.write_message(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = await self._read()
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]
            self.events.append(msg)

    async def until(self, event: str) -> None:
        while not any(e.get("method") == event for e in self.events):
            self.events.append(await self._read())


def _devtools_port(profile: Path, proc: subprocess.Popen) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        if proc.poll() is not None:
            raise RuntimeError(f"the browser exited with {proc.returncode} before opening DevTools")
        time.sleep(0.05)
    raise RuntimeError("the browser did not open its DevTools port within 60 s")


@pytest.mark.slow
@needs_browser
def test_report_in_headless_browser_devtools(report_file, tmp_path):
    websocket = pytest.importorskip(
        "tornado.websocket", reason="tornado (a dependency of ipykernel) is needed for the DevTools protocol client"
    )
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [
            BROWSER,
            *BROWSER_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--window-size=1280,1800",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = _devtools_port(profile, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as resp:
            targets = json.load(resp)
        page_ws = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")

        async def visit():
            ws = await websocket.websocket_connect(page_ws, max_message_size=256 * 2**20)
            cdp = _DevTools(ws)
            for domain in ("Runtime", "Log", "Network", "Page"):
                await cdp.call(f"{domain}.enable")
            await cdp.call("Emulation.setDeviceMetricsOverride", width=1280, height=1800, deviceScaleFactor=1, mobile=False)
            await cdp.call("Page.navigate", url=report_file.as_uri())
            await cdp.until("Page.loadEventFired")
            probe = await cdp.call(
                "Runtime.evaluate",
                returnByValue=True,
                expression="""(() => {
                const imgs = [...document.images];
                return {charset: document.characterSet, title: document.title,
                        h1: document.querySelector('h1').textContent,
                        tables: document.querySelectorAll('table').length,
                        gridRows: document.querySelectorAll('tr.grid-row').length,
                        images: imgs.length,
                        broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
                        pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth};
            })()""",
            )
            shot = await cdp.call("Page.captureScreenshot", format="png")
            ws.close()
            return probe["result"]["value"], base64.b64decode(shot["data"]), cdp.events

        info, png, events = asyncio.run(visit())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck browser
            proc.kill()
    errors = [
        e
        for e in events
        if e.get("method") == "Runtime.exceptionThrown"
        or e.get("method") == "Runtime.consoleAPICalled"
        and e["params"]["type"] in ("error", "assert", "warning")
        or e.get("method") == "Log.entryAdded"
        and e["params"]["entry"]["level"] in ("error", "warning")
    ]
    assert not errors, errors
    requested = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    outside = [u for u in requested if not u.startswith(("file:", "data:", "about:"))]
    assert not outside, f"the page asked the network for {outside}"
    assert info["charset"] == "UTF-8" and info["title"] == "方块区 report" and info["h1"] == "方块区 report"
    assert info["gridRows"] == 4 and info["tables"] >= 10
    assert info["images"] >= 5 and info["broken"] == [], f"images not decoded: {info['broken']}"
    assert info["pageWidth"] <= info["viewport"], "the page is wider than the window (a table does not scroll)"
    shot = tmp_path / "devtools.png"
    shot.write_bytes(png)
    _not_blank(shot, 1280, 1800)


def test_simulations_saved_under_the_old_kpi_name_read_back_under_the_new_one():
    from gridplan.report import _renamed_kpis

    old = pd.DataFrame({"compliance_7min": [0.4], "compliance_all": [0.98]}, index=["G1"])
    assert list(_renamed_kpis(old).columns) == ["compliance_7min", "compliance_deadline"]
    summary = pd.DataFrame({"mean": [0.4, 0.98]}, index=["compliance_7min", "compliance_all"])
    assert list(_renamed_kpis(summary).index) == ["compliance_7min", "compliance_deadline"]
