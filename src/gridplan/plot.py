"""Shared drawing helpers (matplotlib), used by every ``.plot()`` in gridplan.

Maps are drawn in the object's metric CRS with equal aspect, a title, a
legend and a scale bar, so that figures from different modules look alike.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from matplotlib.axes import Axes

    from .typing import ArrayLike

__all__ = [
    "axes",
    "density",
    "streets",
    "finish",
    "scale_bar",
    "label",
    "short_labels",
    "figsize_for",
    "colour_range",
    "cjk_font",
    "STREET_STYLE",
]

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "Noto Sans CJK JP",
)
_cjk_font: list[str | None] = []
_MAP_SIDE_IN = 8.0  # height of a map figure, inches; its width follows the shape of the data
_MAX_WIDE = 2.2  # widest figure: this many times its height
_MIN_NARROW = 0.6  # narrowest: this share of its height
_LEGEND_INSIDE_MAX = 6  # legends with more entries go beside the map, never over it
_POINT_MARKERS = frozenset("o^sxvD*P+.")
log = logging.getLogger("gridplan")
_CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+")

STREET_STYLE = {
    "arterial": (1.6, "#404040"),
    "secondary": (1.1, "#595959"),
    "bridge": (1.6, "#404040"),
    "local": (0.6, "#8c8c8c"),
    "lane": (0.4, "#a6a6a6"),
}


def _fontconfig_cjk_files() -> list[str]:
    """Font files fontconfig knows for Chinese (``fc-list :lang=zh``), e.g. Debian's fonts-noto-cjk."""
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})


def _find_cjk_font() -> str | None:
    if not _cjk_font:
        from matplotlib import font_manager

        names = {f.name for f in font_manager.fontManager.ttflist}
        found = next((n for n in CJK_FONTS if n in names), None)
        if found is None:  # installed after matplotlib built its font cache: ask fontconfig
            for path in _fontconfig_cjk_files():
                try:
                    font_manager.fontManager.addfont(path)
                    name = font_manager.FontProperties(fname=path).get_name()
                except (OSError, RuntimeError, ValueError):
                    continue
                if found is None or name in CJK_FONTS:
                    found = name
                if name in CJK_FONTS:
                    break
        if found is None:
            log.warning(
                "no font with Chinese characters found: maps drop the Chinese part of names; install one "
                "(Debian/Ubuntu: apt-get install fonts-noto-cjk; or any of %s) to see them",
                ", ".join(CJK_FONTS),
            )
        _cjk_font.append(found)
    return _cjk_font[0]


def cjk_font() -> str | None:
    """The font gridplan draws Chinese names with (``None`` when the machine has none: names lose their
    Chinese part, and the ``gridplan`` logger says so once)."""
    return _find_cjk_font()


def label(text: str, fallback: str = "") -> str:
    """Text for a figure: as is when it is ASCII or a CJK font is installed.

    Without a CJK font matplotlib would draw Chinese as empty boxes, so the
    rest (e.g. ``"Sample district"`` of ``"示例区 (Sample district)"``) or
    ``fallback`` is used instead.

    >>> label("16.0 km²")
    '16.0 km²'
    >>> label("示例区 (Sample district)") in ("示例区 (Sample district)", "(Sample district)")
    True
    """
    if not _CJK.search(text):
        return text
    font = _find_cjk_font()
    if font is not None:
        import matplotlib

        families = list(matplotlib.rcParams["font.sans-serif"])
        if font not in families:
            matplotlib.rcParams["font.sans-serif"] = [font, *families]
        return text
    rest = re.sub(r"\(\s*\)", "", _CJK.sub("", text)).strip(" -—,")
    return re.sub(r"\s{2,}", " ", rest) or fallback


def figsize_for(bounds: Sequence[float] | None, *, height: float = _MAP_SIDE_IN) -> tuple[float, float]:
    """A map figure's size for data with these bounds ``(xmin, ymin, xmax, ymax)``: wide districts get wide figures.

    >>> figsize_for((0, 0, 30_000, 10_000))
    (17.6, 8.0)
    >>> figsize_for((0, 0, 10_000, 10_000)), figsize_for(None)
    ((8.0, 8.0), (8.0, 8.0))
    """
    if bounds is None:
        return (height, height)
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    w, h = xmax - xmin, ymax - ymin
    ratio = w / h if h > 0 and w > 0 and np.isfinite(w / h) else 1.0
    return (round(height * float(np.clip(ratio, _MIN_NARROW, _MAX_WIDE)), 2), height)


def axes(ax: Axes | None = None, *, figsize: tuple[float, float] | None = None, bounds: Sequence[float] | None = None) -> Axes:
    """Return ``ax`` or a new Axes on a new figure, shaped for data with ``bounds`` unless ``figsize`` is given."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize or figsize_for(bounds))
    return ax


def short_labels(codes: Sequence[object], *, min_chars: int = 4) -> list[str]:
    """The shortest tails of the codes (at least ``min_chars``) that tell every code apart: map labels.

    Unit-grid codes share their first digits (the community), so their last 4 digits repeat from one
    community to the next; the labels grow until no two are the same.

    >>> short_labels(["520101010101", "520101020101", "520101020102"])
    ['10101', '20101', '20102']
    >>> short_labels(["A", "B"])
    ['A', 'B']
    """
    text = [str(c) for c in codes]
    longest = max((len(t) for t in text), default=0)
    for k in range(min_chars, longest + 1):
        tails = [t[-k:] for t in text]
        if len(set(tails)) == len(set(text)):
            return tails
    return text


def colour_range(*values: ArrayLike) -> tuple[float, float]:
    """One ``(vmin, vmax)`` over all the values: panels compared side by side share one colour scale.

    >>> colour_range([0.9, 1.0], [0.97, 1.05])
    (0.9, 1.05)
    """
    finite = [np.asarray(v, dtype=float).ravel() for v in values]
    allv = np.concatenate(finite) if finite else np.zeros(0)
    allv = allv[np.isfinite(allv)]
    if len(allv) == 0:
        return (0.0, 1.0)
    return (float(allv.min()), float(allv.max()))


def density(ax: Axes, points: gpd.GeoDataFrame, *, weight: str | None = None, gridsize: int = 60) -> None:
    """Shade point density (e.g. residents) as hexagons under the other layers."""
    x = points.geometry.x.to_numpy()
    y = points.geometry.y.to_numpy()
    c = points[weight].to_numpy(dtype=float) if weight else None
    ax.hexbin(x, y, C=c, reduce_C_function=np.sum, gridsize=gridsize, cmap="YlOrBr", mincnt=1, linewidths=0, alpha=0.75, zorder=1)


def streets(ax: Axes, lines: gpd.GeoDataFrame, *, column: str = "kind") -> None:
    """Draw street centrelines, wider and darker for more important classes."""
    if column in lines:
        for kind, (width, colour) in STREET_STYLE.items():
            part = lines[lines[column] == kind]
            if len(part):
                part.plot(ax=ax, linewidth=width, color=colour, zorder=2)
        rest = lines[~lines[column].isin(list(STREET_STYLE))]
    else:
        rest = lines
    if len(rest):
        rest.plot(ax=ax, linewidth=0.6, color="#737373", zorder=2)


def scale_bar(ax: Axes) -> None:
    """A scale bar of a round length in the lower left (the CRS must be in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span = (x1 - x0) / 5
    nice = 10 ** np.floor(np.log10(span))
    length = max(m * nice for m in (1, 2, 5) if m * nice <= span)
    bx, by = x0 + (x1 - x0) * 0.05, y0 + (y1 - y0) * 0.04
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=3, solid_capstyle="butt", zorder=10)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(bx + length / 2, by + (y1 - y0) * 0.012, label, ha="center", va="bottom", fontsize=8, zorder=10)


def finish(ax: Axes, title: str, *, legend: Iterable[tuple[str, str, str | tuple[float, Sequence[float]]]] = ()) -> Axes:
    """Equal aspect, no ticks, a scale bar, a title and legend entries ``(label, colour, style)``.

    ``style`` is a line style (``"-"``, ``"--"``, ``":"``, a dash tuple) for lines, or a marker
    (``"o"``, ``"^"``, ``"s"``, ``"x"`` ...) for points, drawn as a point. Legends of more than
    a few entries are put beside the map, not over it.
    """
    from matplotlib.lines import Line2D

    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    if not isinstance(title, str):
        raise DataError(f"title must be text, got {title!r}")
    ax.set_title(label(title, "map"))
    scale_bar(ax)
    handles = [
        Line2D(
            [0],
            [0],
            color=c,
            marker=s,
            linestyle="none",
            markersize=7,
            markeredgecolor="black",
            markeredgewidth=0.4,
            label=label(lbl, lbl),
        )
        if isinstance(s, str) and s in _POINT_MARKERS
        else Line2D([0], [0], color=c, linestyle=s, label=label(lbl, lbl))  # type: ignore[arg-type]  # str: a line style
        for lbl, c, s in legend
    ]
    if len(handles) > _LEGEND_INSIDE_MAX:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            framealpha=0.9,
            ncol=1 + (len(handles) - 1) // 32,
            borderaxespad=0.0,
        )
    elif handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    return ax
