"""The managers' digest charts, rendered headless as PNG bytes.

Drawn with matplotlib's object-oriented API (`Figure` + the Agg canvas), never `pyplot`: pyplot
keeps global figure state and picks a GUI backend, while a bare `Figure` needs no display and may be
drawn on any thread. matplotlib is imported on first draw only, as importing it takes about half a
second and most processes (a handler, `export`) never draw.

Made to be read on a phone, where Slack shows an image a third of its size: landscape 1200×675 px,
fonts of 14 pt and more (1 pt is 1.4 px at 100 dpi), the Okabe–Ito colour-blind-safe palette, one
set of light horizontal gridlines, the numbers written on the bars where there is room for them.
Rendering is deterministic: the same data gives the same bytes (no software tag, no timestamp).
"""

from __future__ import annotations

import io
import math
import os
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_PX, HEIGHT_PX, DPI = 1200, 675, 100
FONT = "DejaVu Sans"  # ships with matplotlib: the same glyphs on every machine
TITLE_PT, LABEL_PT, TICK_PT, VALUE_PT = 22, 16, 15, 14

# Okabe & Ito, "Color Universal Design": distinguishable with every common colour-vision
# deficiency, and each dark enough to carry black or white text on white.
ORANGE, SKY_BLUE, GREEN, BLUE, VERMILLION, BLACK = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#0072B2",
    "#D55E00",
    "#000000",
)
GRID = "#D0D0D0"
MUTED = "#444444"

# Above this many days the bars are too narrow for their numbers and the ticks for "Mon 16".
MAX_LABELLED_DAYS = 14
MAX_TICKED_DAYS = 10
TITLE_CHARS_PER_LINE = 64  # bold 22 pt DejaVu Sans across 1,200 px, with margins


@dataclass(frozen=True)
class Chart:
    """A rendered chart, ready for upload: `alt_text` is what screen readers say instead."""

    filename: str
    title: str
    alt_text: str
    png: bytes


def volume_chart(
    days: Sequence[date],
    opened: Sequence[int],
    resolved: Sequence[int],
    backlog: Sequence[int],
    *,
    title: str,
) -> bytes:
    """Daily opened vs resolved as grouped bars, and the backlog at each day's end as a line on
    its own (right-hand) scale, as a backlog is often many times a day's intake."""
    count = len(days)
    if count == 0:
        raise ValueError("a volume chart needs at least one day")
    if not len(opened) == len(resolved) == len(backlog) == count:
        raise ValueError("days, opened, resolved and backlog must have the same length")
    figure, axes = _figure(title)
    positions = list(range(count))
    width = 0.38
    opened_bars = axes.bar(
        [x - width / 2 for x in positions], opened, width, color=ORANGE, label="Opened", zorder=3
    )
    resolved_bars = axes.bar(
        [x + width / 2 for x in positions], resolved, width, color=BLUE, label="Resolved", zorder=3
    )
    bars_top = max([*opened, *resolved, 0])
    _count_axis(axes, bars_top, label="Tickets per day")

    line_axes = axes.twinx()
    if count <= MAX_LABELLED_DAYS:
        # Written on the line's axes, which are drawn last, so the line never strikes them out.
        for bars, values in ((opened_bars, opened), (resolved_bars, resolved)):
            _label_bars(line_axes, bars, values, on=axes)
    (line,) = line_axes.plot(
        positions,
        backlog,
        color=BLACK,
        linewidth=3,
        marker="o",
        markersize=7 if count <= MAX_LABELLED_DAYS else 4,
        label="Backlog at day end",
        zorder=4,
    )
    backlog_top = max([*backlog, 0])
    _count_axis(line_axes, backlog_top, label="Backlog", grid=False)
    line_axes.spines["top"].set_visible(False)
    line_axes.annotate(
        f"{backlog[-1]}",
        xy=(positions[-1], backlog[-1]),
        xytext=(0, 10),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=VALUE_PT,
        fontweight="bold",
        fontfamily=FONT,
        color=BLACK,
    )

    axes.set_xlim(-0.6, count - 0.4)
    ticks = _day_ticks(days)
    axes.set_xticks([position for position, _ in ticks], [text for _, text in ticks])
    axes.tick_params(axis="x", length=0, pad=8)
    if len(ticks) < count:  # unnamed days still get a small mark each
        axes.set_xticks(positions, minor=True)
        axes.tick_params(axis="x", which="minor", length=5, color=MUTED)
    if not any([*opened, *resolved, *backlog]):
        _say_nothing(axes, "No tickets in this period")
    _legend(axes, [opened_bars, resolved_bars, line])
    return _png(figure)


def first_response_chart(
    labels: Sequence[str], met: Sequence[int], missed: Sequence[int], *, title: str
) -> bytes:
    """How long tickets waited for a first response, one bar per bucket ("< 15m", "15m–1h", …),
    each split into the tickets answered within their SLA target and those that missed it."""
    count = len(labels)
    if count == 0:
        raise ValueError("a first-response chart needs at least one bucket")
    if not len(met) == len(missed) == count:
        raise ValueError("labels, met and missed must have the same length")
    figure, axes = _figure(title)
    positions = list(range(count))
    totals = [m + x for m, x in zip(met, missed, strict=True)]
    top = max([*totals, 0])
    width = 0.6 if count > 2 else 0.4
    met_bars = axes.bar(positions, met, width, color=GREEN, label="Within SLA target", zorder=3)
    missed_bars = axes.bar(
        positions,
        missed,
        width,
        bottom=met,
        color=VERMILLION,
        label="Missed SLA target",
        zorder=3,
    )
    _count_axis(axes, top, label="Tickets")
    for position, bottom, value in [
        *zip(positions, [0] * count, met, strict=True),
        *zip(positions, met, missed, strict=True),
    ]:
        # A segment's number goes inside it when it is tall enough to hold one line of text.
        if value and value >= 0.08 * max(top, 1):
            axes.text(
                position,
                bottom + value / 2,
                str(value),
                ha="center",
                va="center",
                fontsize=VALUE_PT,
                fontfamily=FONT,
                fontweight="bold",
                color=BLACK,
                zorder=5,
            )
    for position, total in zip(positions, totals, strict=True):
        if total:
            axes.annotate(
                str(total),
                xy=(position, total),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=VALUE_PT,
                fontfamily=FONT,
                color=MUTED,
            )
    wrap = max(8, 96 // count)
    axes.set_xticks(positions, [textwrap.fill(label, wrap) for label in labels])
    axes.tick_params(axis="x", length=0, pad=8)
    axes.set_xlim(-0.6, count - 0.4)
    axes.set_xlabel("Time to first response", fontsize=LABEL_PT, fontfamily=FONT, labelpad=8)
    answered = sum(totals)
    if answered:
        within = sum(met)
        # In the legend's row, right-aligned: the headline figure, clear of every bar.
        axes.annotate(
            f"{within} of {answered} within target ({round(100 * within / answered)}%)",
            xy=(1, 1.02),
            xycoords="axes fraction",
            xytext=(0, 0.5 * LABEL_PT),  # the legend's inner padding: the same baseline
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=LABEL_PT,
            fontfamily=FONT,
            fontweight="bold",
            color=BLACK,
        )
    else:
        _say_nothing(axes, "No first responses in this period")
    _legend(axes, [met_bars, missed_bars])
    return _png(figure)


def volume_alt_text(
    days: Sequence[date], opened: Sequence[int], resolved: Sequence[int], backlog: Sequence[int]
) -> str:
    """What the volume chart shows, in words, for screen readers (Slack allows 1,000 chars)."""
    if not days:
        return "No days to chart."
    span = f"{_day_label(days[0])} to {_day_label(days[-1])}"
    busiest = max(range(len(days)), key=lambda i: (opened[i], -i))
    text = (
        f"Tickets opened and resolved per day, {span}: {sum(opened)} opened, "
        f"{sum(resolved)} resolved. Backlog went from {backlog[0]} to {backlog[-1]} "
        f"(peak {max(backlog)})."
    )
    if sum(opened):
        text += f" Busiest day: {_day_label(days[busiest])}, {opened[busiest]} opened."
    return text[:1000]


def first_response_alt_text(
    labels: Sequence[str], met: Sequence[int], missed: Sequence[int]
) -> str:
    """What the first-response chart shows, in words, for screen readers."""
    total = sum(met) + sum(missed)
    if total == 0:
        return "No first responses in this period."
    parts = [
        f"{label}: {m + x} ({x} missed target)" if x else f"{label}: {m}"
        for label, m, x in zip(labels, met, missed, strict=True)
    ]
    text = (
        f"Time to first response: {sum(met)} of {total} within the SLA target "
        f"({round(100 * sum(met) / total)}%). " + "; ".join(parts) + "."
    )
    return text if len(text) <= 1000 else text[:999] + "…"


# --- drawing helpers ---------------------------------------------------------------------------


def _figure(title: str) -> tuple[Figure, Axes]:
    figure_class = _matplotlib_figure()
    figure = figure_class(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
    # Constrained layout fits long titles and labels inside the fixed size; pads in inches.
    figure.set_layout_engine("constrained", w_pad=0.15, h_pad=0.12)
    figure.suptitle(_fit_title(title), fontsize=TITLE_PT, fontweight="bold", fontfamily=FONT)
    axes = figure.add_subplot()
    axes.set_facecolor("white")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(labelsize=TICK_PT)
    for label in axes.get_xticklabels() + axes.get_yticklabels():
        label.set_fontfamily(FONT)
    return figure, axes


def _fit_title(title: str) -> str:
    """At most two lines that fit the width at the title's size; past that, cut with "…"."""
    lines = textwrap.wrap(title, TITLE_CHARS_PER_LINE) or [""]
    if len(lines) > 2:
        lines = [
            lines[0],
            textwrap.shorten(" ".join(lines[1:]), TITLE_CHARS_PER_LINE, placeholder="…"),
        ]
    return "\n".join(lines)


def _count_axis(axes: Axes, top: int, *, label: str, grid: bool = True) -> None:
    """A count scale from zero, whole numbers only, a little headroom for the bar numbers; an
    all-zero period still gets a sensible 0–5 scale rather than a degenerate one."""
    from matplotlib.ticker import MaxNLocator

    axes.set_ylim(0, max(5, math.ceil(top * 1.15)))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axes.set_ylabel(label, fontsize=LABEL_PT, fontfamily=FONT, labelpad=8)
    axes.tick_params(axis="y", labelsize=TICK_PT, length=0)
    for tick in axes.get_yticklabels():
        tick.set_fontfamily(FONT)
    if grid:
        axes.yaxis.grid(True, color=GRID, linewidth=1)
        axes.set_axisbelow(True)
    axes.spines["left" if grid else "right"].set_color(MUTED)


def _label_bars(axes: Axes, bars: Any, values: Sequence[int], *, on: Axes) -> None:
    """Each bar's number just above it (`on`: the axes whose scale the bars use)."""
    for bar, value in zip(bars, values, strict=True):
        if value:
            axes.annotate(
                str(value),
                xy=(bar.get_x() + bar.get_width() / 2, bar.get_height()),
                xycoords=on.transData,
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=VALUE_PT if value < 1000 else VALUE_PT - 3,
                fontfamily=FONT,
                color=MUTED,
                bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none"},
                zorder=5,
            )


def _legend(axes: Axes, handles: list[Any]) -> None:
    """One row above the plot, under the title: nothing drawn over the data."""
    axes.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0, 1.02),
        borderaxespad=0,
        ncols=len(handles),
        frameon=False,
        handlelength=1.5,
        columnspacing=1.6,
        prop={"family": FONT, "size": LABEL_PT},
    )


def _say_nothing(axes: Axes, text: str) -> None:
    axes.text(
        0.5,
        0.5,
        text,
        transform=axes.transAxes,
        ha="center",
        va="center",
        fontsize=LABEL_PT + 2,
        fontfamily=FONT,
        color=MUTED,
    )


def _day_label(day: date) -> str:
    return f"{day:%a} {day.day}"


def _day_ticks(days: Sequence[date]) -> list[tuple[int, str]]:
    """Every day named ("Mon 16") when they fit; past that, the first day and each Monday, so a
    month reads week by week (a first day too close to a Monday would overlap it)."""
    if len(days) <= MAX_TICKED_DAYS:
        return [(i, _day_label(day)) for i, day in enumerate(days)]
    mondays = [i for i, day in enumerate(days) if day.weekday() == 0]
    ticks = [i for i in mondays]
    if not mondays or mondays[0] >= 3:
        ticks.insert(0, 0)
    return [(i, _day_label(days[i])) for i in ticks]


def _png(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # No "Software" tag and no timestamp: equal data, equal bytes.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _matplotlib_figure() -> type[Figure]:
    """matplotlib's `Figure`, imported on first use with a writable config/cache directory.

    matplotlib writes a font cache under `~/.cache` (or `$MPLCONFIGDIR`); in a container whose
    home is read-only it would warn and rebuild that cache in a fresh temporary folder on every
    start. A fixed folder under the temp dir keeps one cache across runs instead.
    """
    if (
        "matplotlib" not in sys.modules
        and not os.environ.get("MPLCONFIGDIR")
        and not _writable(_default_matplotlib_dirs())
    ):
        folder = os.path.join(tempfile.gettempdir(), f"supportbot-matplotlib-{_user_tag()}")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not _owned(folder):  # someone else's folder in a shared /tmp: not ours to trust
            folder = tempfile.mkdtemp(prefix="supportbot-matplotlib-")
        os.environ["MPLCONFIGDIR"] = folder
    from matplotlib.figure import Figure

    return Figure


def _default_matplotlib_dirs() -> list[str]:
    home = os.path.expanduser("~")
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return [os.path.join(config, "matplotlib"), os.path.join(cache, "matplotlib")]


def _writable(folders: Sequence[str]) -> bool:
    for folder in folders:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            return False
        if not os.access(folder, os.W_OK):
            return False
    return True


def _owned(folder: str) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or (os.stat(folder).st_uid == getuid() and os.access(folder, os.W_OK))


def _user_tag() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else "user"
