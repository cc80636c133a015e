"""Shared drawing helpers (matplotlib), used by every ``.plot()`` in gridplan.

Maps are drawn in the object's metric CRS with equal aspect, a title, a
legend and a scale bar, so that figures from different modules look alike.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from matplotlib.axes import Axes

__all__ = ["axes", "density", "streets", "finish", "scale_bar", "label", "STREET_STYLE"]

CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC", "Heiti SC")
_cjk_font: list[str | None] = []
_CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+")

STREET_STYLE = {
    "arterial": (1.6, "#404040"),
    "secondary": (1.1, "#595959"),
    "bridge": (1.6, "#404040"),
    "local": (0.6, "#8c8c8c"),
    "lane": (0.4, "#a6a6a6"),
}


def _find_cjk_font() -> str | None:
    if not _cjk_font:
        from matplotlib import font_manager

        names = {f.name for f in font_manager.fontManager.ttflist}
        _cjk_font.append(next((n for n in CJK_FONTS if n in names), None))
    return _cjk_font[0]


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


def axes(ax: "Axes | None" = None, *, figsize: tuple[float, float] = (8, 8)) -> "Axes":
    """Return ``ax`` or a new Axes on a new figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def density(ax: "Axes", points: "gpd.GeoDataFrame", *, weight: str | None = None, gridsize: int = 60) -> None:
    """Shade point density (e.g. residents) as hexagons under the other layers."""
    x = points.geometry.x.to_numpy()
    y = points.geometry.y.to_numpy()
    c = points[weight].to_numpy(dtype=float) if weight else None
    ax.hexbin(x, y, C=c, reduce_C_function=np.sum, gridsize=gridsize, cmap="YlOrBr", mincnt=1,
              linewidths=0, alpha=0.75, zorder=1)


def streets(ax: "Axes", lines: "gpd.GeoDataFrame", *, column: str = "kind") -> None:
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


def scale_bar(ax: "Axes") -> None:
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


def finish(ax: "Axes", title: str, *, legend: Sequence[tuple[str, str, str]] | Iterable[tuple[str, str, str]] = ()) -> "Axes":
    """Equal aspect, no ticks, a scale bar, a title and line-legend entries ``(label, colour, style)``."""
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
    handles = [Line2D([0], [0], color=c, linestyle=s, label=lbl) for lbl, c, s in legend]
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    return ax
