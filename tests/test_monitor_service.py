"""The monitor's HTTP service: auth, limits, schema, isolation of calls, the exposition."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")
pytest.importorskip("prometheus_client")

from aiohttp.test_utils import TestClient, TestServer

import mediaopt as mo
from mediaopt.errors import InputError
from mediaopt.monitor.fleet import Fleet
from mediaopt.monitor.service import Sites, create_app, read_token

DATA = Path(mo.traces.__file__).parent / "data"
TOKEN = b"s3cret-token-for-tests"
AUTH = {"Authorization": "Bearer " + TOKEN.decode()}
REPORTS = mo.replay(DATA / "rural-4g.csv", "consult", seed=0, duration_s=20).stats_reports()


def _run(test: Callable[[TestClient[Any, Any], Fleet], Awaitable[None]], **kw: Any) -> None:
    async def main() -> None:
        fleet = Fleet()
        app = create_app(fleet, token=TOKEN, **kw)
        async with TestClient(TestServer(app)) as client:
            await test(client, fleet)

    asyncio.run(main())


async def _post(client: TestClient[Any, Any], cid: str, body: Any, **kw: Any) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    headers = kw.pop("headers", AUTH)
    return await client.post(f"/v1/calls/{cid}/stats", data=data, headers=headers, **kw)


async def _metrics(client: TestClient[Any, Any]) -> str:
    resp = await client.get("/metrics")
    assert resp.status == 200
    return str(await resp.text())


def test_a_call_flows_through_and_shows_in_metrics() -> None:
    async def t(client: TestClient[Any, Any], fleet: Fleet) -> None:
        for rep in REPORTS:
            resp = await _post(client, "call-1", {"report": rep, "policy": "surgical"})
            assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert body["tier"] == "advanced" and body["state"] in ("usable", "unusable", "excluded")
        resp = await client.post("/v1/calls/call-1/end", headers=AUTH)
        assert resp.status == 200 and (await resp.json())["ended"] is True
        calls = await (await client.get("/v1/calls", headers=AUTH)).json()
        assert calls["calls"][0]["call_id"] == "call-1"
        text = await _metrics(client)
        assert (
            'mediaopt_call_seconds_total{policy="surgical",result="usable",site="default",tier="advanced"}'
            in text
        )
        assert "mediaopt_frame_delay_seconds_bucket" in text
        assert 'mediaopt_ingest_requests_total{code="200"}' in text
        assert "mediaopt_calls_active" in text and "call-1" not in text  # ids never labels
        health = await (await client.get("/healthz")).json()
        assert health == {"status": "ok", "calls": 1}

    _run(t)


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", "Basic abc", "Bearer"])
def test_missing_or_wrong_token_is_401_and_changes_nothing(header: str | None) -> None:
    async def t(client: TestClient[Any, Any], fleet: Fleet) -> None:
        headers = {} if header is None else {"Authorization": header}
        resp = await _post(client, "c", {"report": REPORTS[0]}, headers=headers)
        assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
        assert (await client.get("/v1/calls", headers=headers)).status == 401
        assert len(fleet) == 0
        assert 'mediaopt_ingest_requests_total{code="401"} 2.0' in await _metrics(client)

    _run(t)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not JSON"),
        (b"", 400, "empty body"),
        (b"\xff\xfe", 400, "not JSON"),
        ([1, 2], 422, "JSON object"),
        ({"report": [], "colour": "blue"}, 422, "unknown fields ['colour']"),
        ({"site": "default"}, 422, "'report'"),
        ({"report": "text"}, 422, "report"),
        ({"report": [1, 2]}, 422, "report[0]"),
        ({"report": [], "timestamp_us": -5}, 422, "timestamp_us"),
        ({"report": [], "timestamp_us": True}, 422, "timestamp_us"),
        ({"report": [], "site": "elsewhere"}, 422, "not a configured site"),
        ({"report": [], "policy": "nope"}, 422, "not allowed"),
        ({"report": [], "site": 3}, 422, "site"),
    ],
)
def test_bad_requests_get_a_reason_and_leave_other_calls_alone(
    body: Any, status: int, words: str
) -> None:
    async def t(client: TestClient[Any, Any], fleet: Fleet) -> None:
        for rep in REPORTS[:5]:
            assert (await _post(client, "good", {"report": rep})).status == 200
        before = fleet.get("good")
        assert before is not None
        snaps = before.counters["snapshots"]
        resp = await _post(client, "bad", body)
        assert resp.status == status
        assert words in (await resp.json())["error"]
        assert "bad" not in fleet and before.counters["snapshots"] == snaps
        # the service is still up and the good call goes on
        for rep in REPORTS[5:10]:
            assert (await _post(client, "good", {"report": rep})).status == 200
        assert before.counters["snapshots"] == snaps + 5

    _run(t)


def test_oversized_body_is_413() -> None:
    async def t(client: TestClient[Any, Any], fleet: Fleet) -> None:
        big = {"report": [{"type": "x", "pad": "a" * 5000}]}
        resp = await _post(client, "c", big)
        assert resp.status == 413 and "larger than 4096" in (await resp.json())["error"]
        resp = await _post(client, "c", {"report": REPORTS[0]})
        assert resp.status == 200

    _run(t, max_body_bytes=4096)


def test_bad_call_id_conflicts_and_ended_calls() -> None:
    async def t(client: TestClient[Any, Any], fleet: Fleet) -> None:
        assert (await _post(client, "-bad", {"report": REPORTS[0]})).status == 400
        assert (await _post(client, "x" * 200, {"report": REPORTS[0]})).status == 400
        assert (await _post(client, "c", {"report": REPORTS[0], "policy": "consult"})).status == 200
        resp = await _post(client, "c", {"report": REPORTS[1], "policy": "followup"})
        assert resp.status == 409
        resp = await client.post("/v1/calls/c/end", data=json.dumps({"report": REPORTS[2]}),
                                 headers=AUTH)  # fmt: skip
        assert resp.status == 200
        assert (await _post(client, "c", {"report": REPORTS[3]})).status == 409
        assert (await client.post("/v1/calls/nobody/end", headers=AUTH)).status == 404

    _run(t)


def test_configured_sites_and_policies(tmp_path: Path) -> None:
    cfg = tmp_path / "sites.toml"
    cfg.write_text(
        '[sites.north]\npolicies = ["consult", "followup"]\n'
        '[sites.theatre-1]\npolicies = ["surgical"]\n',
        encoding="utf-8",
    )
    sites = Sites.load(cfg)

    async def t(client: TestClient[Any, Any], fleet: Fleet) -> None:
        assert (await _post(client, "a", {"report": REPORTS[0]})).status == 422  # which site?
        resp = await _post(client, "a", {"report": REPORTS[0], "site": "theatre-1"})
        assert (await resp.json())["policy"] == "surgical"
        resp = await _post(
            client, "b", {"report": REPORTS[0], "site": "north", "policy": "followup"}
        )
        assert (await resp.json())["tier"] == "basic"
        resp = await _post(
            client, "c", {"report": REPORTS[0], "site": "north", "policy": "surgical"}
        )
        assert resp.status == 422

    _run(t, sites=sites)
    bad = tmp_path / "bad.toml"
    bad.write_text('[sites."Bad Name"]\npolicies = ["consult"]\n', encoding="utf-8")
    with pytest.raises(InputError, match="site name"):
        Sites.load(bad)


def test_token_file_rules(tmp_path: Path) -> None:
    p = tmp_path / "token"
    p.write_text("short\n", encoding="utf-8")
    os.chmod(p, 0o600)
    with pytest.raises(InputError, match="16 characters"):
        read_token(p)
    p.write_text(TOKEN.decode() + "\n", encoding="utf-8")
    assert read_token(p) == TOKEN
    os.chmod(p, 0o644)
    with pytest.raises(InputError, match="readable by others"):
        read_token(p)
    with pytest.raises(InputError, match="cannot read"):
        read_token(tmp_path / "missing")


def test_an_internal_error_is_a_500_and_the_service_stays_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def t(client: TestClient[Any, Any], fleet: Fleet) -> None:
        real = fleet.add_stats

        def boom(cid: str, *a: Any, **k: Any) -> Any:
            if cid == "boom":
                raise RuntimeError("bug")
            return real(cid, *a, **k)

        monkeypatch.setattr(fleet, "add_stats", boom)
        assert (await _post(client, "boom", {"report": REPORTS[0]})).status == 500
        assert (await _post(client, "fine", {"report": REPORTS[0]})).status == 200
        assert 'mediaopt_ingest_requests_total{code="500"} 1.0' in await _metrics(client)

    _run(t)
