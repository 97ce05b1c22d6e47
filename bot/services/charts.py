"""Charts (PNG) for staff, readable on a phone. matplotlib is imported here only, when a chart is
drawn, so the bot starts fast; its bundled DejaVu Sans renders every Vietnamese diacritic.

A chart is described first (`Chart`: its words and numbers, already in the reader's language),
then drawn (`percent_chart`); callers and tests reason about the description, the drawing only
lays it out.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from typing import Any

WIDTH_PX, DPI = 1080, 150  # a phone screen's width; text stays legible when shown full width
NOTE_WIDTH = 115  # characters a footnote line holds at 8 pt across the chart


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # percent (or a count for `counts_chart`)
    targets: tuple[tuple[str, float], ...] = ()  # (legend, value) marks on the bar's row
    detail: str = ""  # who is behind the bar ("7/11 người"), written after its value


@dataclass(frozen=True)
class Group:
    """Bars that measure the same thing, under a heading saying what (one panel)."""

    heading: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    groups: tuple[Group, ...]
    subtitle: str = ""  # e.g. the date of the figures
    note: str = ""  # the footnote: what is left out and why
    axis: str = "%"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: render to files only
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 11})
    return plt


def _save(fig: Any, plt: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()


def percent_chart(chart: Chart) -> bytes:
    """Horizontal bars of percentages (0-100) with target marks, one panel per group."""
    plt = _pyplot()
    return _save(figure(chart, plt), plt)


def figure(chart: Chart, plt: Any = None) -> Any:
    """The matplotlib figure of `chart` (tests look at it; `percent_chart` saves it)."""
    plt = plt or _pyplot()
    groups = [g for g in chart.groups if g.bars]
    note_lines = textwrap.wrap(chart.note, NOTE_WIDTH) if chart.note else []
    rows = sum(len(g.bars) for g in groups)
    markers = any(bar.targets for g in groups for bar in g.bars)
    # Inches: the title block, each panel's heading and rows, the legend, the footnote.
    top, legend, note = 0.9, 0.45 if markers else 0.0, 0.2 * len(note_lines)
    height = top + sum(0.55 + 0.5 * len(g.bars) for g in groups) + 0.45 + legend + note
    fig = plt.figure(figsize=(WIDTH_PX / DPI, max(3.2, height)))
    grid = fig.add_gridspec(
        len(groups),
        1,
        height_ratios=[0.55 + 0.5 * len(g.bars) for g in groups],
        left=0.36,
        right=0.97,
        top=1 - top / height,
        bottom=(0.45 + legend + note) / height,
        hspace=0.55 * len(groups) / max(rows, 1),
    )
    handles: dict[str, Any] = {}
    for index, group in enumerate(groups):
        ax = fig.add_subplot(grid[index])
        _panel(ax, group, handles)
        if index == len(groups) - 1:
            ax.set_xlabel(chart.axis, fontsize=10)
        else:
            ax.tick_params(labelbottom=False)
    fig.text(0.02, 1 - 0.3 / height, chart.title, fontsize=13, weight="bold", va="center")
    if chart.subtitle:
        fig.text(0.02, 1 - 0.62 / height, chart.subtitle, fontsize=10, color="#444444")
    if handles:  # under the panels, so it never hides a bar or a mark
        fig.legend(
            handles.values(),
            handles.keys(),
            loc="lower center",
            fontsize=9,
            ncol=len(handles),
            frameon=False,
            bbox_to_anchor=(0.5, (note + 0.02) / height),
        )
    for line, text in enumerate(note_lines):
        fig.text(0.02, (note - 0.2 * line - 0.15) / height, text, fontsize=8, color="#555555")
    return fig


def _panel(ax: Any, group: Group, handles: dict[str, Any]) -> None:
    bars = list(group.bars)[::-1]  # the first bar on top
    positions = range(len(bars))
    ax.barh(positions, [b.value for b in bars], color="#2b7bb9", height=0.55)
    for row, bar in enumerate(bars):
        words = f"{bar.value:.0f}%" + (f" · {bar.detail}" if bar.detail else "")
        if bar.value > 55:  # inside the bar, so the words never run past 100%
            ax.text(bar.value - 1.5, row, words, va="center", ha="right", color="white", fontsize=9)
        else:
            ax.text(bar.value + 1.5, row, words, va="center", fontsize=9)
        for (legend, target), (color, marker, size) in zip(
            bar.targets, (("#d9534f", "|", 14), ("#333333", "d", 9)), strict=False
        ):
            # Not clipped: a 100% target sits on the frame and stays whole.
            handles[legend] = ax.plot(
                [target],
                [row],
                marker=marker,
                markersize=size,
                color=color,
                linestyle="none",
                markeredgewidth=3,
                clip_on=False,
                zorder=5,
            )[0]
    ax.set_yticks(list(positions), [_wrap(b.label) for b in bars], fontsize=10)
    ax.set_ylim(-0.6, len(bars) - 0.4)
    ax.set_xlim(0, 104)  # room beyond 100% for a mark at 100%
    ax.set_xticks(range(0, 101, 20))
    ax.set_title(group.heading, fontsize=10.5, loc="left", x=-0.52, color="#222222")
    ax.grid(axis="x", alpha=0.3)


def _wrap(label: str) -> str:
    """A row label on at most two lines of the left margin."""
    return "\n".join(textwrap.wrap(label, 24)[:2])


def counts_chart(title: str, labels: list[str], values: list[int], axis: str) -> bytes:
    """Vertical bars of counts (new assessments per week)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(WIDTH_PX / DPI, 4.5))
    ax.bar(range(len(values)), values, color="#5cb85c")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=9)
    ax.set_ylabel(axis)
    ax.set_title(title, fontsize=13, loc="left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, plt)
