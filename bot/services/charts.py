"""Charts (PNG) for staff, readable on a phone. matplotlib is imported here only, when a chart is
drawn, so the bot starts fast; its bundled DejaVu Sans renders every Vietnamese diacritic."""

from __future__ import annotations

import io
from dataclasses import dataclass

WIDTH_PX, DPI = 1080, 150  # a phone screen's width; text stays legible when shown full width


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # percent (or a count for `counts_chart`)
    targets: tuple[tuple[str, float], ...] = ()  # (legend, value) marks on the bar's row


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: render to files only
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 11})
    return plt


def _save(fig: object, plt: object) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[attr-defined]
    return buffer.getvalue()


def percent_chart(title: str, bars: list[Bar], note: str = "", axis: str = "%") -> bytes:
    """Horizontal bars of percentages (0-100) with target marks; one row per bar."""
    plt = _pyplot()
    height_in = max(3.2, 1.2 + 0.75 * len(bars))
    fig, ax = plt.subplots(figsize=(WIDTH_PX / DPI, height_in))
    labels = [b.label for b in bars][::-1]
    values = [b.value for b in bars][::-1]
    positions = range(len(bars))
    ax.barh(positions, values, color="#2b7bb9", height=0.55)
    markers = {}
    for row, bar in enumerate(bars[::-1]):
        ax.text(min(bar.value + 1.5, 92), row, f"{bar.value:.0f}%", va="center", fontsize=10)
        for (legend, target), style in zip(
            bar.targets, (("#d9534f", "|"), ("#333333", "d")), strict=False
        ):
            color, marker = style
            handle = ax.plot(
                [target],
                [row],
                marker=marker,
                markersize=14,
                color=color,
                linestyle="none",
                markeredgewidth=3,
            )[0]
            markers[legend] = handle
    ax.set_yticks(list(positions), labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel(axis)
    ax.set_title(title, fontsize=13, loc="left")
    ax.grid(axis="x", alpha=0.3)
    if markers:  # under the axis, so it never hides a bar or a mark
        ax.legend(
            markers.values(),
            markers.keys(),
            loc="upper center",
            fontsize=9,
            ncol=2,
            bbox_to_anchor=(0.5, -0.14),
            frameon=False,
        )
    if note:
        fig.text(0.01, 0.01, note, fontsize=8, color="#555555")
    fig.tight_layout(rect=(0, 0.04 if note else 0, 1, 1))
    return _save(fig, plt)


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
