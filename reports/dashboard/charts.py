"""The dashboard's charts, drawn with matplotlib (Agg, no display) to SVG that is embedded inline in the page.

The SVG is deterministic (fixed hash salt per chart, no date or creator metadata), its text stays text (svg.fonttype
none: the browser draws it with the page's CJK fonts, and a chart weighs little), and every bar or timeline box
carries an id (`<chart>-<n>`) and a `<title>`, so tests and people can count and read them. Labels may be device
text (serials) or app text (package names): matplotlib escapes XML in what it writes, and mathtext is switched off
for every label so a `$` in a name is only a dollar sign.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt
import matplotlib.ticker
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

COLORS = {"high": "#b3261e", "medium": "#b26a00", "low": "#44617b", "done": "#1e7b34", "failed": "#b3261e",
          "device_lost": "#1d2329", "interrupted": "#8a96a3", "running": "#2f6fd0", "bar": "#44617b"}
CJK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
WIDTH_IN = 7.2  # inches at 72 dpi in the SVG: about 520 px wide, scaled down on a phone by CSS
TIMELINE_WIDTH_IN = 15.0
_LOCK = threading.Lock()  # pyplot state and rcParams are global: one chart at a time
_family: list[str] = []


@dataclass(frozen=True)
class Box:
    """One attempt on the device timeline."""

    lane: int
    start_h: float  # hours since the lab's first start
    length_h: float
    outcome: str  # colour key: done | failed | device_lost | interrupted | running
    title: str  # tooltip: app and outcome (app text; escaped by matplotlib)


def _fonts() -> list[str]:
    """A CJK face when the machine has one (for label widths; the browser draws the text with its own fonts)."""
    if not _family:
        for path in CJK_FONTS:
            if Path(path).is_file():
                font_manager.fontManager.addfont(path)
                _family.append(font_manager.FontProperties(fname=path).get_name())
                break
        _family.append("DejaVu Sans")
    return _family


def _svg(fig: Figure, salt: str, tight: bool = True) -> str:
    """The figure as an inline <svg> element: no XML prolog, deterministic ids, ids unique to this chart."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"naysayer-{salt}", "svg.fonttype": "none", "svg.id": None}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
                    bbox_inches="tight" if tight else None)
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    text = re.sub(r"font-family: [^;\"]*;? ?", "", text)  # the page's fonts (CJK SC first) draw the text
    # size: scale with the page, never wider than drawn
    text = re.sub(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"',
                  lambda m: f'<svg{m.group(1)} class="chart" id="chart-{salt}" role="img" '
                            f'style="max-width:{float(m.group(2)):.0f}pt" width="100%"', text, count=1)
    return text.strip()


def _figure(height_in: float, width_in: float = WIDTH_IN) -> tuple[Figure, object]:
    fig = plt.figure(figsize=(width_in, max(1.2, height_in)), dpi=72)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _rc():
    return matplotlib.rc_context({"font.family": _fonts(), "font.size": 10, "axes.unicode_minus": False,
                                  "text.parse_math": False})


def wrap(label: str, width: int = 24) -> str:
    """A long label on two or three lines: at spaces for words, anywhere for CJK (which has none)."""
    import textwrap

    if len(label) <= width:
        return label
    if " " in label:
        return "\n".join(textwrap.wrap(label, width)[:3])
    half = max(8, width // 2)
    return "\n".join(label[i:i + half] for i in range(0, min(len(label), 3 * half), half))


def bars(name: str, labels: list[str], values: list[float], *, colors: list[str] | None = None,
         titles: list[str] | None = None, value_format: str = "{:g}", xlabel: str = "") -> str:
    """Horizontal bars, one per label, top to bottom in the order given; ids `<name>-<i>`."""
    with _LOCK, _rc(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph no installed font has: the SVG keeps the text all the same
        lines = max([wrap(x).count("\n") + 1 for x in labels] + [1])
        fig, ax = _figure(0.5 + (0.22 + 0.14 * lines) * max(1, len(labels)))
        ys = list(range(len(labels)))[::-1]
        drawn = ax.barh(ys, values, color=colors or COLORS["bar"], height=0.7)
        for i, (rect, value) in enumerate(zip(drawn.patches, values, strict=True)):
            rect.set_gid(f"{name}-{i}")
            ax.text(rect.get_width(), rect.get_y() + rect.get_height() / 2, " " + value_format.format(value),
                    va="center", ha="left", fontsize=9, parse_math=False)
        ax.set_yticks(ys, labels=[wrap(x) for x in labels], parse_math=False)
        ax.set_xlim(0, max([*values, 1]) * 1.15)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=5, integer=all(float(v).is_integer()
                                                                                     for v in values)))
        if xlabel:
            ax.set_xlabel(xlabel, parse_math=False)
        ax.tick_params(axis="y", length=0)
        if not labels:
            ax.set_yticks([])
        svg = _svg(fig, name)
    return _titles(svg, name, titles or [f"{label}: {value_format.format(v)}" for label, v in zip(labels, values,
                                                                                                    strict=True)])


def timeline(name: str, lanes: list[str], boxes: list[Box], *, start: float | None,
             tick: Callable[[float], str], xlabel: str) -> str:
    """One lane per device, one box per attempt (colour = outcome, see COLORS; a device loss also gets an x at its
    end). The legend is the page's, in HTML."""
    with _LOCK, _rc(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph no installed font has: the SVG keeps the text all the same
        fig, ax = _figure(0.75 + 0.34 * max(1, len(lanes)), TIMELINE_WIDTH_IN)
        span = max([b.start_h + b.length_h for b in boxes] + [1.0 / 60])
        least = span / 400  # a crawl of a few seconds in a night of hours still shows
        for i, b in enumerate(boxes):  # artists, not bars: the axes' limits are set below, not grown per box
            ax.add_artist(Rectangle((b.start_h, len(lanes) - 1 - b.lane - 0.31), max(b.length_h, least), 0.62,
                                    color=COLORS.get(b.outcome, COLORS["interrupted"]), linewidth=0, gid=f"{name}-{i}"))
        lost = [b for b in boxes if b.outcome == "device_lost"]
        if lost:
            ax.scatter([b.start_h + b.length_h for b in lost], [len(lanes) - 1 - b.lane for b in lost], marker="x",
                       s=36, color=COLORS["failed"], zorder=3, linewidths=1.6)
        ax.set_yticks(range(len(lanes))[::-1], labels=lanes, parse_math=False)
        ax.set_ylim(-0.6, max(len(lanes), 1) - 0.4)
        ax.set_xlim(0, span * 1.02)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 3, 5, 6, 10]))
        ticks = [t for t in ax.get_xticks() if 0 <= t <= span * 1.02]
        ax.set_xticks(ticks, labels=[tick(t) for t in ticks], parse_math=False)
        ax.set_xlabel(xlabel, parse_math=False)
        ax.tick_params(axis="y", length=0)
        width_px = TIMELINE_WIDTH_IN * 72
        left = min(0.4, (12 + 7 * max([len(x) for x in lanes] + [4])) / width_px)
        fig.subplots_adjust(left=left, right=0.98, top=1 - 0.1 / fig.get_figheight(),
                            bottom=0.62 / fig.get_figheight())
        svg = _svg(fig, name, tight=False)
    return _titles(svg, name, [b.title for b in boxes])


def clock(start: float | None, span_h: float = 1.0) -> Callable[[float], str]:
    """Tick labels of the timeline: hours since the first start, as UTC wall time (with seconds for a short lab)."""
    fmt = "%H:%M" if span_h >= 0.2 else "%H:%M:%S"

    def label(hours: float) -> str:
        if start is None:
            return f"{hours:g}"
        return datetime.fromtimestamp(start + hours * 3600.0, UTC).strftime(fmt)
    return label


def _titles(svg: str, name: str, titles: list[str]) -> str:
    """A <title> inside each element with id `<name>-<i>` (a tooltip in the browser; text is escaped here)."""
    from xml.sax.saxutils import escape

    def put(match: re.Match) -> str:
        i = int(match.group(2))
        title = titles[i] if i < len(titles) else ""
        return f'{match.group(1)}<title>{escape(title)}</title>'

    return re.sub(rf'(<g id="{re.escape(name)}-(\d+)">)', put, svg)
