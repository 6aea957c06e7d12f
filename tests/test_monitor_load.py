"""Load on loopback: 100 concurrent calls posting one snapshot a second for 60 s.

Bounded (6,100 requests, about 80 s, 127.0.0.1 only) and self-stopping. The service runs as
``mediaopt monitor serve`` in its own process; one asyncio client with pre-serialised
bodies plays the calls, each call offset by 10 ms so that the second is not a thundering
herd. Passes: zero errors, p99 latency under 20 ms, and the server's memory after the
calls end and are evicted no higher than after a first round of the same calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

aiohttp = pytest.importorskip("aiohttp")
pytest.importorskip("prometheus_client")

import mediaopt as mo  # noqa: E402

DATA = Path(mo.traces.__file__).parent / "data"
TOKEN = "load-test-token-0123456789"
CALLS = 100
SECONDS = 60
P99_LIMIT_S = 0.020
RSS_GROWTH_LIMIT_KB = 16 * 1024

pytestmark = pytest.mark.slow


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n", encoding="utf-8")
    os.chmod(token, 0o600)
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mediaopt", "monitor", "serve", "--port", "0",
             "--token-file", str(token), "--evict-after-s", "1", "--idle-timeout-s", "30"],
            stderr=fh,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"listening on (http://\S+)", log.read_text(encoding="utf-8"))
        if m:
            return proc, m.group(1)
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(log.read_text(encoding="utf-8"))


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _round(
    url: str, bodies: list[bytes], tag: str, *, paced: bool
) -> tuple[list[float], list[int]]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors: list[int] = []
    connector = aiohttp.TCPConnector(limit=CALLS)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter() + 0.5

        async def call(i: int) -> None:
            cid = f"{tag}-{i}"
            for k, body in enumerate(bodies):
                if paced:
                    delay = start + k + i * (1.0 / CALLS) - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                t0 = time.perf_counter()
                async with session.post(
                    f"{url}/v1/calls/{cid}/stats", data=body, headers=headers
                ) as resp:
                    await resp.read()
                    status = resp.status
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors.append(status)
            async with session.post(f"{url}/v1/calls/{cid}/end", headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    errors.append(resp.status)

        await asyncio.gather(*(call(i) for i in range(CALLS)))
    return latencies, errors


def _server_p99_s(url: str) -> float:
    import urllib.request

    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    buckets = [
        (float(m.group(1)), float(m.group(2)))
        for m in re.finditer(
            r'mediaopt_ingest_duration_seconds_bucket\{le="([0-9.e+-]+)"\} (\S+)', text
        )
    ]
    total = float(re.search(r"mediaopt_ingest_duration_seconds_count (\S+)", text).group(1))  # type: ignore[union-attr]
    for bound, count in buckets:
        if count >= 0.99 * total:
            return bound
    return float("inf")


def _calls_held(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
        return int(json.loads(resp.read())["calls"])


def test_100_calls_a_snapshot_a_second_for_60_s(tmp_path: Path) -> None:
    reports = mo.replay(DATA / "hospital-wifi-congested.csv", "consult", seed=0).stats_reports()
    bodies = [json.dumps({"report": rep}).encode() for rep in reports[: SECONDS + 1]]
    proc, url = _serve(tmp_path)
    try:
        # round 1, unpaced: every call's whole timeline, to reach the steady memory state
        _, warm_errors = asyncio.run(_round(url, bodies, "warm", paced=False))
        assert warm_errors == []
        time.sleep(3.0)  # ended calls are evicted after 1 s
        assert _calls_held(url) == 0
        rss_before = _rss_kb(proc.pid)

        # round 2, paced: 100 concurrent calls, one snapshot a second each, for 60 s
        latencies, errors = asyncio.run(_round(url, bodies, "load", paced=True))
        rss_peak = _rss_kb(proc.pid)
        time.sleep(3.0)
        assert _calls_held(url) == 0
        rss_after = _rss_kb(proc.pid)
        lat = np.array(latencies)
        server_p99 = _server_p99_s(url)
        figures = {
            "requests": int(lat.size),
            "errors": len(errors),
            "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 2),
            "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 2),
            "max_ms": round(float(lat.max()) * 1e3, 2),
            "server_p99_bucket_ms": server_p99 * 1e3,
            "rss_before_kb": rss_before,
            "rss_peak_kb": rss_peak,
            "rss_after_kb": rss_after,
        }
        print("\nload figures:", json.dumps(figures))
        assert errors == []
        assert lat.size == CALLS * (SECONDS + 1)
        assert np.percentile(lat, 99) < P99_LIMIT_S, figures
        assert rss_after - rss_before < RSS_GROWTH_LIMIT_KB, figures
    finally:
        proc.terminate()
        proc.wait(timeout=10)
