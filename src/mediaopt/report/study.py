"""A study for people: the SLA table for the terminal, and one self-contained HTML page.

The page (``render_html``/``write_report``) holds the pooled SLA table with target,
bound and verdict per policy and site, where unusable time went by reason, the paired
comparison with the baseline, the failed sessions, and the worst sessions as small
multiples (capacity / target / goodput, frame delay with the ceiling, fps and height with
their floors, unusable windows shaded by reason). Charts are inline SVG drawn here: no
script, no external file, a few kilobytes per chart, so a study of a thousand sessions
stays well under 2 MB and opens offline in any browser.
"""

from __future__ import annotations

import html
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mediaopt import _atomic
from mediaopt._version import __version__
from mediaopt.errors import InputError
from mediaopt.sla import REASONS
from mediaopt.study import Study

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "REASON_COLOURS",
    "format_compare",
    "format_sla",
    "render_html",
    "worst_sessions",
    "write_report",
]

#: Shading of an unusable window by its first reason in this order (and of excluded ones).
REASON_COLOURS: dict[str, str] = {
    "no_video": "#7f3b08",
    "frozen": "#e08214",
    "late": "#d6604d",
    "low_fps": "#8073ac",
    "low_resolution": "#4393c3",
    "excluded": "#bdbdbd",
}
#: Points per line at most in a chart (longer series keep each bucket's extreme).
MAX_POINTS = 240


# ---------------------------------------------------------------------------------------
# The terminal


def _pct(x: float, digits: int = 2) -> str:
    return (
        "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f} %"
    )


def _hours(s: float) -> str:
    return f"{s / 3600:.2f}"


def _top_reason(row: Any) -> str:
    shares = {r: float(row[f"share_{r}"]) for r in REASONS}
    name, share = max(shares.items(), key=lambda kv: kv[1])
    return f"{name} {100 * share:.0f} %" if share > 0 else "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 2) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def format_sla(*tables: pd.DataFrame) -> str:
    """Plain-text SLA tables (``Study.sla()`` results), one row per policy and site."""
    header = [
        "policy",
        "group",
        "sessions",
        "counted h",
        "excluded h",
        "availability",
        "95% bound",
        "target",
        "verdict",
        "top reason",
    ]
    rows = []
    for t in tables:
        for _, r in t.iterrows():
            rows.append(
                [
                    str(r["policy"]),
                    str(r["group"]) if "group" in t.columns else "(all)",
                    f"{int(r['sessions'])}"
                    + (f" +{int(r['errors'])} failed" if r["errors"] else ""),
                    _hours(r["counted_s"]),
                    _hours(r["excluded_s"]),
                    _pct(r["availability"], 3),
                    _pct(r["lower_bound"], 3),
                    _pct(r["target"], 2),
                    str(r["verdict"]),
                    _top_reason(r),
                ]
            )
    return _table(header, rows)


def format_compare(table: pd.DataFrame) -> str:
    """Plain-text paired comparison (``Study.compare()``)."""
    header = ["policy", "measure", "vs baseline", "95% interval", "wins", "ties", "losses"]
    rows = []
    for _, r in table.iterrows():
        ratio = r["kind"] == "ratio"

        def fmt(v: float, ratio: bool = ratio) -> str:
            return f"x{v:.3g}" if ratio else f"{v:+.3g}"

        rows.append(
            [
                f"{r['policy']} vs {r['baseline']}",
                str(r["measure"]),
                fmt(r["estimate"]),
                f"{fmt(r['ci_low'])} .. {fmt(r['ci_high'])}",
                str(r["wins"]),
                str(r["ties"]),
                str(r["losses"]),
            ]
        )
    return _table(header, rows)


# ---------------------------------------------------------------------------------------
# Charts (inline SVG)


def _decimate(t: npt.NDArray[Any], y: npt.NDArray[Any], how: str) -> tuple[Any, Any]:
    n = len(t)
    if n <= MAX_POINTS:
        return t, y
    k = math.ceil(n / MAX_POINTS)
    m = n // k * k
    tt = t[:m].reshape(-1, k)[:, 0]
    yy = y[:m].reshape(-1, k)
    red = yy.max(axis=1) if how == "max" else yy.min(axis=1) if how == "min" else yy.mean(axis=1)
    return tt, red


def _polyline(
    t: Any, y: Any, x0: float, xs: float, y0: float, ys: float, colour: str, dash: str = ""
) -> str:
    pts = " ".join(f"{x0 + a * xs:.1f},{y0 - b * ys:.1f}" for a, b in zip(t, y, strict=True))
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.2"{extra} points="{pts}"/>'


def _primary_reason(w: dict[str, Any]) -> list[str]:
    out = []
    for i in range(len(w["t_s"])):
        if bool(w["excluded"][i]):
            out.append("excluded")
            continue
        r = next((name for name in REASON_COLOURS if name != "excluded" and bool(w[name][i])), "")
        out.append(r)
    return out


def session_svg(w: dict[str, Any], profile: dict[str, float], title: str) -> str:
    """Small multiples of one session's windows as an SVG (four panels, shaded reasons)."""
    t = np.asarray(w["t_s"], dtype=float)
    cover = np.asarray(w["covered_s"], dtype=float)
    end = float(t[-1] + cover[-1]) if len(t) else 1.0
    width, left, right = 640.0, 62.0, 8.0
    panel_h, gap, top = 54.0, 12.0, 4.0
    xs = (width - left - right) / max(end, 1e-9)
    panels = [
        (
            "kbit/s",
            [
                ("capacity_kbps", "#969696", "mean"),
                ("target_kbps", "#2166ac", "mean"),
                ("goodput_kbps", "#1b7837", "mean"),
            ],
            None,
        ),
        ("delay ms", [("frame_delay_ms", "#b2182b", "max")], profile["max_frame_delay_ms"]),
        ("fps", [("fps", "#542788", "min")], profile["min_fps"]),
        ("height px", [("height", "#2d004b", "min")], profile["floor_height"]),
    ]
    height = top + len(panels) * (panel_h + gap) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img"><title>{html.escape(title)}</title>',
    ]
    reasons = _primary_reason(w)
    span_top, span_h = top, len(panels) * (panel_h + gap) - gap
    i = 0
    while i < len(t):  # shade runs of windows with the same first reason
        r = reasons[i]
        j = i
        while j + 1 < len(t) and reasons[j + 1] == r:
            j += 1
        if r:
            x = left + t[i] * xs
            wdt = (t[j] + cover[j] - t[i]) * xs
            parts.append(
                f'<rect x="{x:.1f}" y="{span_top:.0f}" width="{max(wdt, 0.6):.1f}" '
                f'height="{span_h:.0f}" fill="{REASON_COLOURS[r]}" fill-opacity="0.28"/>'
            )
        i = j + 1
    for k, (label, series, floor) in enumerate(panels):
        y_base = top + k * (panel_h + gap) + panel_h
        vals = [np.asarray(w[c], dtype=float) for c, _, _ in series]
        # a second with no frame shown has no delay, rate or picture: the line skips it
        keep = np.asarray(w["frames"]) > 0 if label != "kbit/s" else np.ones(len(t), dtype=bool)
        peak = max([float(v.max()) if v.size else 0.0 for v in vals] + [float(floor or 0) * 1.5])
        if label == "delay ms" and floor:
            peak = min(peak, 4.0 * float(floor))  # keep the ceiling readable
        peak = peak if peak > 0 else 1.0
        ys = panel_h / peak
        parts.append(
            f'<rect x="{left}" y="{y_base - panel_h:.0f}" width="{width - left - right:.0f}" '
            f'height="{panel_h:.0f}" fill="none" stroke="#ccc"/>'
            f'<text x="{left - 4}" y="{y_base - panel_h + 9:.0f}" font-size="9" '
            f'text-anchor="end">{label}</text>'
            f'<text x="{left - 4}" y="{y_base - panel_h + 20:.0f}" font-size="8" fill="#666" '
            f'text-anchor="end">max {peak:.0f}</text>'
        )
        for (_, colour, how), v in zip(series, vals, strict=True):
            tt, yy = _decimate((t + 0.5 * cover)[keep], np.minimum(v, peak)[keep], how)
            parts.append(_polyline(tt, yy, left, xs, y_base, ys, colour))
        if floor:
            yf = y_base - min(float(floor), peak) * ys
            parts.append(
                f'<line x1="{left}" x2="{width - right}" y1="{yf:.1f}" y2="{yf:.1f}" '
                'stroke="#000" stroke-dasharray="4 3" stroke-width="0.8"/>'
            )
    parts.append(
        f'<text x="{left}" y="{height - 3:.0f}" font-size="9">0 s</text>'
        f'<text x="{width - right}" y="{height - 3:.0f}" font-size="9" '
        f'text-anchor="end">{end:.0f} s</text></svg>'
    )
    return "".join(parts)


def _reason_bars(table: pd.DataFrame, width_px: float = 300.0) -> str:
    rows = []
    for _, r in table.iterrows():
        unusable = float(r["counted_s"] - r["usable_s"])
        share = {x: float(r[f"share_{x}"]) for x in REASONS}
        total = sum(share.values())
        cells = "".join(
            f'<span style="display:inline-block;width:{width_px * v / total:.1f}px;height:12px;'
            f'background:{REASON_COLOURS[x]}" title="{x} {100 * v:.0f} %"></span>'
            for x, v in share.items()
            if total > 0 and v > 0
        )
        text = ", ".join(f"{x} {100 * v:.0f} %" for x, v in share.items() if v > 0)
        rows.append(
            f"<tr><td>{html.escape(str(r['policy']))}</td><td>{unusable / 3600:.2f} h</td>"
            f"<td style='text-align:left'>{cells}</td><td style='text-align:left'>"
            f"{html.escape(text or 'none')}</td></tr>"
        )
    return (
        "<table><thead><tr><th>policy</th><th>unusable</th><th>by reason</th><th>share of the "
        "unusable time (a window may carry several)</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _legend() -> str:
    return " ".join(
        f'<span class="key" style="background:{c}"></span>{html.escape(name)}'
        for name, c in REASON_COLOURS.items()
    )


# ---------------------------------------------------------------------------------------
# The page


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 70em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
td.met { background: #e3f4e3; } td.not-met { background: #fbe3e3; }
td.inconclusive { background: #fff4d6; }
.key { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.25em 0 0.8em;
       vertical-align: middle; opacity: 0.6; }
figure { margin: 0 0 1em; } figcaption { font-size: 0.8em; color: #555; }
.small { font-size: 0.8em; color: #555; }
"""


def _html_table(df: pd.DataFrame, formats: dict[str, Any], classes: str = "") -> str:
    cols = list(formats)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            text = formats[c](r)
            cls = f' class="{text.replace(" ", "-")}"' if c == classes else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_SLA_FORMATS: dict[str, Any] = {
    "policy": lambda r: str(r["policy"]),
    "site": lambda r: str(r.get("group", "(all)")),
    "sessions": lambda r: str(int(r["sessions"])),
    "failed": lambda r: str(int(r["errors"])),
    "counted h": lambda r: _hours(r["counted_s"]),
    "excluded h": lambda r: _hours(r["excluded_s"]),
    "availability": lambda r: _pct(r["availability"], 3),
    "95% lower bound": lambda r: _pct(r["lower_bound"], 3),
    "tier": lambda r: str(r["tier"]),
    "target": lambda r: _pct(r["target"], 2),
    "verdict": lambda r: str(r["verdict"]),
    "top reason": _top_reason,
}

_COMPARE_FORMATS: dict[str, Any] = {
    "policy": lambda r: str(r["policy"]),
    "measure": lambda r: str(r["measure"]),
    "median": lambda r: (
        f"x{r['estimate']:.3g}" if r["kind"] == "ratio" else f"{r['estimate']:+.3g}"
    ),
    "95% interval": lambda r: (
        f"x{r['ci_low']:.3g} .. x{r['ci_high']:.3g}"
        if r["kind"] == "ratio"
        else f"{r['ci_low']:+.3g} .. {r['ci_high']:+.3g}"
    ),
    "better": lambda r: str(r["better"]),
    "pairs": lambda r: str(r["pairs"]),
    "wins": lambda r: str(r["wins"]),
    "ties": lambda r: str(r["ties"]),
    "losses": lambda r: str(r["losses"]),
}


def worst_sessions(st: Study, n: int = 20) -> list[int]:
    """Rows of the ``n`` worst sessions: lowest usable ratio, then highest p95 delay."""
    s = st.sessions
    ok = s[s["status"] == "ok"]
    order = ok.sort_values(
        ["usable_ratio", "frame_delay_p95_ms"], ascending=[True, False], kind="stable"
    )
    return [int(i) for i in order.index[: max(0, int(n))]]


def _profile_floors(st: Study, row: Any, w: dict[str, Any]) -> dict[str, float]:
    pol = st.inputs.policies.get(str(row["policy"]))
    prof = pol.profile if pol is not None else None
    floors = {
        "max_frame_delay_ms": float(prof.max_frame_delay_ms) if prof else 0.0,
        "min_fps": float(prof.min_fps) if prof else 0.0,
        "floor_height": 0.0,
    }
    if prof is not None:
        wmax, hmax = float(np.max(w["width"], initial=0)), float(np.max(w["height"], initial=0))
        aspect = hmax / wmax if wmax > 0 else prof.min_height / max(prof.min_width, 1)
        # the floor is a pixel count: the height that count needs at the picture's aspect
        floors["floor_height"] = math.sqrt(prof.min_width * prof.min_height * aspect)
    return floors


def render_html(
    st: Study,
    *,
    title: str = "mediaopt study report",
    plots: bool = True,
    worst: int = 20,
    baseline: str = "gcc",
    progress: bool = False,
) -> str:
    """Return the study report as one self-contained HTML document."""
    s = st.sessions
    fleet = st.sla(by=("policy",))
    sites = st.sla(by=("policy", "group"))
    params = st.manifest.get("parameters", {})
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(s)} sessions: {s['policy'].nunique()} policies x {s['trace_id'].nunique()} "
        f"traces in {s['group'].nunique()} sites x {len(params.get('seeds', []))} seeds x "
        f"{len(params.get('networks', []))} networks; {int((s['status'] == 'error').sum())} "
        f"failed. mediaopt {html.escape(__version__)}.</p>",
        "<p class='small'>A one-second window is usable when nothing froze, every frame "
        "arrived under the profile's delay ceiling and the picture kept the frame-rate and "
        "resolution floors; windows where the link was below the profile's capacity floor "
        "are outside the contract (excluded). Availability is usable time over counted "
        "time, pooled over the group's calls; the 95 % lower bound allows for bad seconds "
        "clustering within calls; the verdict is <i>met</i> when the bound reaches the "
        "tier's target, <i>not met</i> when the estimate misses it, else <i>inconclusive</i> "
        "(docs/sla.md).</p>",
        "<h2>Service level per policy (whole fleet)</h2>",
        _html_table(fleet, {k: v for k, v in _SLA_FORMATS.items() if k != "site"}, "verdict"),
        "<h2>Service level per policy and site</h2>",
        _html_table(sites, _SLA_FORMATS, "verdict"),
        "<h2>Where the unusable time went</h2>",
        _reason_bars(fleet),
        f"<p class='small'>{_legend()}</p>",
    ]
    if baseline in set(s["policy"]) and s["policy"].nunique() > 1:
        parts += [
            f"<h2>Paired comparison with {html.escape(baseline)}</h2>",
            "<p class='small'>Per trace, network and seed: the median ratio (delay, freezes, "
            "bitrate) or difference (PSNR dB, usable share) with a 95 % bootstrap interval "
            "over traces; wins, ties and losses per pair.</p>",
            _html_table(st.compare(baseline=baseline), _COMPARE_FORMATS),
        ]
    failed = st.failed
    if len(failed):
        parts.append(
            f"<h2>Failed sessions ({len(failed)})</h2><table><thead><tr><th>trace"
            "</th><th>policy</th><th>seed</th><th>error</th></tr></thead><tbody>"
        )
        for _, r in failed.head(50).iterrows():
            parts.append(
                f"<tr><td>{html.escape(str(r['trace_id']))}</td><td>{html.escape(str(r['policy']))}"
                f"</td><td>{int(r['seed'])}</td><td style='text-align:left'>"
                f"{html.escape(str(r['error']))}</td></tr>"
            )
        parts.append("</tbody></table>")
        if len(failed) > 50:
            parts.append(f"<p class='small'>... and {len(failed) - 50} more.</p>")
    rows = worst_sessions(st, worst)
    if rows:
        parts.append(f"<h2>The {len(rows)} worst sessions</h2>")
        parts.append(
            "<p class='small'>Lowest usable share first. Panels: capacity (grey), target "
            "(blue) and goodput (green) in kbit/s; the largest frame delay of each second; "
            "the frame rate; the smallest picture height. Dashed: the delay ceiling and the "
            "frame-rate and resolution floors (the height a picture of this aspect needs to "
            f"reach the floor's pixel count). Shading by the first reason: {_legend()}.</p>"
        )
        bar = _bar(len(rows), progress and plots)
        for i in rows:
            r = s.loc[i]
            label = (
                f"{r['trace_id']} x {r['policy']} (seed {int(r['seed'])}, {r['network']}): "
                f"usable {_pct(r['usable_ratio'], 1)}, p95 delay "
                f"{r['frame_delay_p95_ms']:.0f} ms, freezes {int(r['freeze_count'])}"
            )
            if plots:
                try:
                    w = st.session_windows(i)
                    svg = session_svg(w, _profile_floors(st, r, w), label)
                    cap = html.escape(label)
                    parts.append(f"<figure>{svg}<figcaption>{cap}</figcaption></figure>")
                except InputError as exc:
                    why = html.escape(str(exc))
                    parts.append(f"<p class='small'>{html.escape(label)}: no chart ({why})</p>")
                bar.update(1)
            else:
                parts.append(f"<p class='small'>{html.escape(label)}</p>")
        bar.close()
    parts.append(
        "<h2>Provenance</h2><p class='small'>"
        + html.escape(
            f"command: {' '.join(st.manifest.get('command') or ['(Python)'])}; "
            f"duration: {params.get('duration_s') or 'each trace'}; seeds: {params.get('seeds')}; "
            f"backend: {params.get('backend')}; core: {st.manifest.get('core', {})}"
        )
        + "</p></body></html>"
    )
    return "\n".join(parts) + "\n"


def _bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm  # optional at import time: a progress bar over the report's charts

    return tqdm(total=total, unit="chart", desc="mediaopt report", file=sys.stderr)


class _NoBar:
    def update(self, n: int) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


def write_report(
    path: str | os.PathLike[str],
    st: Study,
    *,
    title: str = "mediaopt study report",
    plots: bool = True,
    worst: int = 20,
    baseline: str = "gcc",
    progress: bool = False,
) -> None:
    """Write the study report to ``path`` atomically (no partial file on failure)."""
    _atomic.write_text(
        path,
        render_html(
            st, title=title, plots=plots, worst=worst, baseline=baseline, progress=progress
        ),
    )
