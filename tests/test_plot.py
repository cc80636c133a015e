"""Maps a planner compares: one colour scale, complete legends, unique labels, Chinese names, wide figures."""

from __future__ import annotations

import logging
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import Normalize, to_rgba
from matplotlib.text import Annotation

from gridplan import plot as gplot
from gridplan.district import District
from gridplan.grids import partition
from gridplan.routes import balance_routes

from .conftest import metric_layers


@pytest.fixture(scope="module")
def town_plan():
    """A 4 km square town in 12 grids."""
    return partition(District.from_frames(**metric_layers(n_streets=13)), 12, seed=0, tolerance=0.1, strict=False)


def test_short_labels_tell_every_grid_apart():
    # the Guiding case: unit-grid codes (community code + sequence) of different communities end alike
    codes = ["52272300100101", "52272300200101", "52272300300101", "52272300300102", "52272301100101"]
    tails4 = [c[-4:] for c in codes]
    assert len(set(tails4)) < len(codes)  # the old labels repeat
    labels = gplot.short_labels(codes)
    assert len(set(labels)) == len(codes) and all(c.endswith(lbl) for c, lbl in zip(codes, labels))
    assert min(len(lbl) for lbl in labels) >= 4


def test_grid_map_labels_are_unique(town_plan):
    ax = town_plan.plot()
    texts = [t.get_text() for t in ax.texts if isinstance(t, Annotation)]  # not the scale bar's
    assert len(texts) == town_plan.n_grids == len(set(texts))
    plt.close(ax.figure)


def test_panels_side_by_side_share_one_colour_scale(town_plan):
    other = partition(town_plan.district, 9, seed=1, tolerance=0.1, strict=False)
    vmin, vmax = gplot.colour_range(*(p.grids["weight"] / p.grids["weight"].mean() for p in (town_plan, other)))
    fig, axes = plt.subplots(1, 2)
    colours = []
    for ax, plan in zip(axes, (town_plan, other)):
        plan.plot(ax=ax, column="balance", vmin=vmin, vmax=vmax, cmap="viridis")
        colours.append(ax.collections[0].get_facecolors())
    norm, cmap = Normalize(vmin, vmax), plt.get_cmap("viridis")
    for plan, faces in zip((town_plan, other), colours):
        balance = (plan.grids["weight"] / plan.grids["weight"].mean()).to_numpy()
        expect = np.array([to_rgba(cmap(norm(b)), alpha=None) for b in balance])
        np.testing.assert_allclose(faces[:, :3], expect[:, :3], atol=1e-6)  # the value decides the colour
    plt.close(fig)


@pytest.mark.slow
def test_patrol_legend_names_every_chief_or_colours_by_grid(town_plan):
    rp = balance_routes(town_plan, chiefs_per_grid=2, depot="centroid", seed=0, progress=False)
    assert rp.n_routes == 24
    ax = rp.plot(grids=town_plan)
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == town_plan.n_grids  # one entry per grid ...
    labels = dict(zip(town_plan.grids["code"], gplot.short_labels(town_plan.grids["code"])))
    named = {t.split(": ")[0].removeprefix("grid "): t.split(": ")[1].split(", ") for t in texts}
    for grid, chief in zip(rp.routes["grid"], rp.lengths.index):  # ... naming every chief, under its grid
        assert str(chief).removeprefix(f"{grid}-") in named[labels[grid]]
    handles = legend.legend_handles
    assert len({h.get_color() for h in handles}) == len(handles)  # no colour reused
    fig = ax.figure
    fig.canvas.draw()
    box, map_box = legend.get_window_extent(), ax.get_window_extent()
    assert box.x0 >= map_box.x1 - 1  # beside the map, not over it
    plt.close(fig)


def test_point_legend_entries_are_points():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    gplot.finish(ax, "t", legend=[("post", "red", "^"), ("street", "grey", "-")])
    post, street = ax.get_legend().legend_handles
    assert post.get_marker() == "^" and post.get_linestyle() == "None"
    assert street.get_linestyle() == "-" and street.get_marker() in ("None", None, "")
    plt.close(fig)


def test_wide_districts_get_wide_figures(town_plan):
    assert gplot.figsize_for((0, 0, 40_000, 10_000))[0] > 2 * gplot.figsize_for((0, 0, 40_000, 10_000))[1]
    assert gplot.figsize_for((0, 0, 10_000, 40_000))[0] < gplot.figsize_for((0, 0, 10_000, 40_000))[1]
    wide = town_plan.grids.copy()
    wide["geometry"] = wide.geometry.scale(3.0, 1.0, origin=(0, 0))
    w, h = gplot.axes(bounds=wide.total_bounds).figure.get_size_inches()
    assert w > 2 * h
    plt.close("all")


def test_chinese_names_render_or_a_note_says_why(caplog):
    font = gplot.cjk_font()
    if font is None:  # no CJK font on this machine: the Chinese part is dropped, and the log said so once
        assert gplot.label("长安区 (Chang'an)") == "(Chang'an)"
        gplot._cjk_font.clear()
        with caplog.at_level(logging.WARNING, logger="gridplan"):
            assert gplot.cjk_font() is None
        assert "fonts-noto-cjk" in caplog.text
        return
    fig, ax = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" when it cannot draw one
        ax.set_title(gplot.label("长安区 网格 01"))
        fig.canvas.draw()
    assert ax.get_title() == "长安区 网格 01"
    plt.close(fig)
