"""deploy/: promtool checks and unit tests of the rules, the Grafana dashboard, and a real
Prometheus scraping the service and evaluating the recording rules."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mediaopt as mo

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
RULES_TEST = ROOT / "deploy" / "prometheus" / "rules_test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "mediaopt.json"
DATA = Path(mo.traces.__file__).parent / "data"
TOKEN = "prometheus-test-token-0123"

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool absent (.ci/run installs it)"
)


@needs_promtool
def test_promtool_check_rules() -> None:
    out = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@needs_promtool
def test_promtool_test_rules() -> None:
    out = subprocess.run(
        [PROMTOOL, "test", "rules", str(RULES_TEST)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_carries_its_tiers_response_deadline() -> None:
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    deadlines = {"advanced": "30m", "standard": "2h", "basic": "4h"}
    seen: dict[tuple[str, str], str] = {}
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            assert rule["annotations"]["response_deadline"] == rule["labels"]["response_deadline"]
            m = re.search(r'tier="(\w+)"', rule["expr"])
            if m:
                tier = m.group(1)
                assert rule["labels"]["response_deadline"] == deadlines[tier]
                seen[(rule["alert"], tier)] = rule["labels"]["severity"]
    for tier in deadlines:
        assert seen[("MediaoptErrorBudgetFastBurn", tier)] == "page"
        assert seen[("MediaoptErrorBudgetSlowBurn", tier)] == "ticket"


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:mediaopt_|site_tier|tier:)[A-Za-z0-9_:]*)", expr))


def test_dashboard_is_valid_json_and_uses_known_series() -> None:
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dash["uid"] and dash["title"] and dash["panels"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    rules = RULES.read_text(encoding="utf-8")
    recorded = set(re.findall(r"record: (\S+)", rules))
    exported = {
        "mediaopt_call_seconds_total", "mediaopt_unusable_seconds_total",
        "mediaopt_calls_active", "mediaopt_calls_unusable_now",
        "mediaopt_frame_delay_seconds_bucket", "mediaopt_ingest_requests_total",
        "mediaopt_ingest_duration_seconds_bucket",
    }  # fmt: skip
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for words in ("availability by tier", "site", "by reason", "frame delay"):
        assert words in titles
    for p in dash["panels"]:
        assert p["targets"], p["title"]
        for t in p["targets"]:
            for name in _metric_names(t["expr"]):
                assert name in recorded | exported, f"{p['title']}: unknown series {name}"


# ---------------------------------------------------------------------------------------
# a real Prometheus against the service


def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``mediaopt monitor serve`` on a free loopback port; return it and its URL."""
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n", encoding="utf-8")
    os.chmod(token, 0o600)
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mediaopt", "monitor", "serve", "--port", "0",
             "--token-file", str(token), *extra],
            stderr=fh,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"listening on (http://\S+)", log.read_text(encoding="utf-8"))
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError(f"service did not start: {log.read_text(encoding='utf-8')!r}")


def _post(url: str, path: str, body: Any) -> int:
    req = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(resp.status)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, str]]:
    if PROMETHEUS is None:
        pytest.skip("prometheus absent (.ci/run installs Debian's prometheus)")
    svc, url = _serve(tmp_path)
    port = _free_port()
    target = url.removeprefix("http://")
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n  - job_name: mediaopt-monitor\n"
        f"    static_configs:\n      - targets: ['{target}']\n",
        encoding="utf-8",
    )
    prom = subprocess.Popen(
        [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield url, f"http://127.0.0.1:{port}"
    finally:
        for p in (prom, svc):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def _query(prom: str, expr: str) -> list[Any]:
    q = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{prom}/api/v1/query?{q}", timeout=5) as resp:
            doc = json.loads(resp.read())
    except OSError:
        return []
    return list(doc["data"]["result"]) if doc.get("status") == "success" else []


@pytest.mark.slow
def test_real_prometheus_scrapes_and_records_availability(prometheus: tuple[str, str]) -> None:
    url, prom = prometheus
    reports = mo.replay(DATA / "rural-4g.csv", "consult", seed=0).stats_reports()
    # the calls' windows become final as snapshots come; post them over a few scrapes
    deadline = time.monotonic() + 90
    result: list[Any] = []
    k = 0
    while time.monotonic() < deadline:
        for _ in range(20):
            if k < len(reports):
                for cid in ("p1", "p2"):
                    assert _post(url, f"/v1/calls/{cid}/stats", {"report": reports[k]}) == 200
                k += 1
        result = _query(prom, "site_tier:mediaopt_availability:ratio_rate5m")
        if result and k >= 60:
            break
        time.sleep(1.0)
    assert result, "the recording rule never produced a sample"
    sample = result[0]
    assert {k: v for k, v in sample["metric"].items() if k != "__name__"} == {
        "site": "default",
        "tier": "standard",
    }
    assert 0.0 <= float(sample["value"][1]) <= 1.0
    up = _query(prom, 'up{job="mediaopt-monitor"}')
    assert up and up[0]["value"][1] == "1"
    assert _query(prom, "mediaopt_calls_active")[0]["value"][1] == "2"
