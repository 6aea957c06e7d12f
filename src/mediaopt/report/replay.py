"""Replay results for people: a plain-text table for the terminal and a self-contained HTML report.

The HTML report has one results table per trace (a row per policy) and, per session, a
plot of link capacity, estimator target and goodput over time above the frame delay with
freezes shaded. Plots are drawn with matplotlib's Agg canvas (no display, no pyplot global
state) and embedded as base64 PNG, so the file opens anywhere with nothing beside it.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mediaopt import _atomic
from mediaopt._version import __version__

__all__ = [
    "TABLE_COLUMNS",
    "ResultLike",
    "format_table",
    "plot_session",
    "render_html",
    "results_frame",
    "write_report",
]


class ResultLike(Protocol):
    """What the report needs from a replay result (``mediaopt.replay.ReplayResult``)."""

    @property
    def trace_name(self) -> str:
        """Name of the replayed trace."""

    @property
    def policy_name(self) -> str:
        """Name of the policy (or peer) replayed."""

    @property
    def seed(self) -> int:
        """Seed of the replay."""

    @property
    def metrics(self) -> Mapping[str, float]:
        """Session metrics (``mediaopt.replay.metrics.METRIC_NAMES``)."""

    @property
    def timeseries(self) -> pd.DataFrame:
        """Per-second time series (``mediaopt.replay.metrics.TIMESERIES_COLUMNS``)."""


#: Columns of the summary tables: (metric name, header, format).
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("frame_delay_p50_ms", "delay p50 ms", "{:.0f}"),
    ("frame_delay_p95_ms", "delay p95 ms", "{:.0f}"),
    ("freeze_count", "freezes", "{:.0f}"),
    ("freeze_s", "freeze s", "{:.1f}"),
    ("fps_mean", "fps", "{:.1f}"),
    ("height_mean", "height", "{:.0f}"),
    ("quality_mean", "PSNR dB", "{:.1f}"),
    ("goodput_kbps", "goodput kbps", "{:.0f}"),
    ("utilization", "util", "{:.2f}"),
    ("packet_loss", "loss", "{:.3f}"),
    ("usable_ratio", "usable", "{:.2%}"),
    ("tier_met", "tier met", "{}"),
)


def _fmt(name: str, fmt: str, value: float) -> str:
    if name == "tier_met":
        return "yes" if value >= 0.5 else "no"
    return fmt.format(value)


def _by_trace(results: Iterable[ResultLike]) -> dict[str, list[ResultLike]]:
    groups: dict[str, list[ResultLike]] = {}
    for r in results:
        groups.setdefault(r.trace_name, []).append(r)
    return groups


def _error(r: ResultLike) -> str | None:
    """The reason a session failed, when ``r`` is a failed row (it has ``error``)."""
    err = getattr(r, "error", None)
    return None if err is None else str(err)


def results_frame(results: Iterable[ResultLike]) -> pd.DataFrame:
    """Return one row per result: ``trace``, ``policy``, ``seed`` and every metric.

    When any row is a failed session (it has an ``error``), a last ``error`` column holds
    its reason (empty metrics); the other rows leave it empty.
    """
    rows: list[dict[str, Any]] = []
    for r in results:
        row = {"trace": r.trace_name, "policy": r.policy_name, "seed": r.seed, **r.metrics}
        err = _error(r)
        if err is not None:
            row["error"] = err
        rows.append(row)
    df: pd.DataFrame = pd.DataFrame(rows)
    if "error" in df.columns:
        df = df[[c for c in df.columns if c != "error"] + ["error"]]
    return df


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    # the first column (policy) is left-aligned, numbers right-aligned
    def line(cells: Sequence[str]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(out).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def format_table(results: Iterable[ResultLike]) -> str:
    """Return plain-text tables, one per trace (in first-seen order), a row per policy."""
    blocks = []
    for trace, group in _by_trace(results).items():
        duration = group[0].metrics.get("duration_s", 0.0)
        header = ["policy", *(h for _, h, _ in TABLE_COLUMNS)]
        rows = [
            [r.policy_name]
            + [_fmt(n, f, float(r.metrics.get(n, 0.0))) for n, _, f in TABLE_COLUMNS]
            for r in group
        ]
        blocks.append(f"trace {trace} ({duration:g} s)\n{_text_table(header, rows)}")
    return "\n\n".join(blocks)


def plot_session(result: ResultLike, *, width_in: float = 9.0, dpi: int = 80) -> bytes:
    """Return a PNG: capacity, target and goodput over time, and frame delay with freezes."""
    # matplotlib: heavy, loaded only when a plot is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ts = result.timeseries
    fig = Figure(figsize=(width_in, 4.8), dpi=dpi)
    FigureCanvasAgg(fig)
    ax_rate, ax_delay = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    t = np.asarray(ts["t_s"], dtype=float) if len(ts) else np.zeros(0)
    for col, label, style in (
        ("capacity_kbps", "capacity", {"color": "0.55", "drawstyle": "steps-post"}),
        ("target_kbps", "target", {"color": "tab:blue"}),
        ("goodput_kbps", "goodput", {"color": "tab:green"}),
    ):
        if col in ts:
            ax_rate.plot(t, np.asarray(ts[col], dtype=float), label=label, lw=1.2, **style)
    ax_rate.set_ylabel("kbit/s")
    ax_rate.set_ylim(bottom=0)
    ax_rate.legend(loc="upper right", fontsize="small", ncol=3)
    ax_rate.set_title(f"{result.trace_name} — {result.policy_name}", fontsize="medium")
    if "frame_delay_ms" in ts:
        delay = np.asarray(ts["frame_delay_ms"], dtype=float)
        if "frames" in ts:
            # a second with no frame shown has no frame delay: leave a gap in the line
            delay = np.where(np.asarray(ts["frames"]) > 0, delay, np.nan)
        ax_delay.plot(t, delay, color="tab:red", lw=1.2, label="frame delay (max per s)")
    if "frozen" in ts:
        for start in t[np.asarray(ts["frozen"], dtype=bool)]:
            ax_delay.axvspan(start, start + 1.0, color="tab:orange", alpha=0.25, lw=0)
    ax_delay.set_ylabel("ms")
    ax_delay.set_xlabel("time (s)")
    ax_delay.set_ylim(bottom=0)
    ax_delay.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    buf = io.BytesIO()
    # No software/date metadata, so the same result gives the same bytes.
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
td.yes { background: #e3f4e3; } td.no { background: #fbe3e3; }
figure { margin: 0 0 1.5em; } figcaption { font-size: 0.85em; color: #555; }
"""


def _html_table(group: Sequence[ResultLike]) -> str:
    head = "".join(
        f"<th>{html.escape(h)}</th>" for h in ["policy", *(h for _, h, _ in TABLE_COLUMNS)]
    )
    body = []
    for r in group:
        cells = [f"<td>{html.escape(r.policy_name)}</td>"]
        err = _error(r)
        if err is not None:
            cells.append(
                f'<td class="no" colspan="{len(TABLE_COLUMNS)}" style="text-align:left">'
                f"failed: {html.escape(err)}</td>"
            )
            body.append("<tr>" + "".join(cells) + "</tr>")
            continue
        for name, _, fmt in TABLE_COLUMNS:
            text = _fmt(name, fmt, float(r.metrics.get(name, 0.0)))
            cls = f' class="{text}"' if name == "tier_met" else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(
    results: Iterable[ResultLike], *, title: str = "mediaopt replay report", plots: bool = True
) -> str:
    """Return the report as one self-contained HTML document."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>mediaopt {html.escape(__version__)}. Metrics are defined in docs/metrics.md; "
        "usable % is the share of one-second windows usable for the policy's clinical "
        "profile, and the tier is met when it reaches the tier's availability.</p>",
    ]
    for trace, group in _by_trace(results).items():
        ran = [r for r in group if _error(r) is None]
        duration = ran[0].metrics.get("duration_s", 0.0) if ran else 0.0
        parts.append(f"<h2>Trace {html.escape(trace)} ({duration:g} s)</h2>")
        parts.append(_html_table(group))
        if not plots:
            continue
        for r in ran:
            png = base64.b64encode(plot_session(r)).decode("ascii")
            caption = html.escape(f"{r.trace_name} under {r.policy_name} (seed {r.seed})")
            parts.append(
                f'<figure><img alt="{caption}" src="data:image/png;base64,{png}">'
                f"<figcaption>{caption}: capacity, target and goodput (top); frame delay, "
                "freezes shaded (bottom).</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    path: str | os.PathLike[str],
    results: Iterable[ResultLike],
    *,
    title: str = "mediaopt replay report",
    plots: bool = True,
) -> None:
    """Write the HTML report to ``path`` atomically (no partial file on failure)."""
    text = render_html(list(results), title=title, plots=plots)
    _atomic.write_text(path, text)
