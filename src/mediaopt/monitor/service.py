"""The monitor's HTTP service (aiohttp): stats in, verdicts and Prometheus metrics out.

``POST /v1/calls/{call_id}/stats`` takes one snapshot (JSON ``{"report": <getStats()
result>, "site": ..., "policy": ..., "timestamp_us": ...}``), ``POST
/v1/calls/{call_id}/end`` ends a call, ``GET /v1/calls`` lists the calls held, ``GET
/metrics`` is the Prometheus exposition and ``GET /healthz`` says the service is up. The
``/v1`` routes need ``Authorization: Bearer <token>`` (compared in constant time); a bad
request gets a 4xx with a one-line reason and changes nothing. Needs the ``monitor``
extra. ``docs/monitor.md`` ("The service") is the reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mediaopt.errors import InputError
from mediaopt.monitor.exporter import Metrics
from mediaopt.monitor.fleet import Fleet, FleetFullError
from mediaopt.monitor.stats import parse_snapshot

__all__ = [
    "CALL_ID_PATTERN",
    "DEFAULT_PORT",
    "FLEET_KEY",
    "MAX_BODY_BYTES",
    "METRICS_KEY",
    "Sites",
    "create_app",
    "read_token",
    "run",
]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

log = logging.getLogger("mediaopt.monitor")

#: The port the service listens on by default (beside Prometheus' exporters' range).
DEFAULT_PORT = 9464
#: Largest request body accepted (bytes): a full Chrome getStats() report is 10–60 kB.
MAX_BODY_BYTES = 256 * 1024
#: What a call identifier may look like (it is a key, never a label or a file name).
CALL_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_SITE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_STATS_FIELDS = frozenset({"report", "site", "policy", "timestamp_us"})
_END_FIELDS = frozenset({"report", "timestamp_us"})


@dataclass(frozen=True)
class Sites:
    """The sites the service accepts and the policies each may use (the first: default).

    Site and policy names become metric labels, so only configured ones are accepted.
    """

    policies: Mapping[str, tuple[str, ...]]

    @classmethod
    def default(cls) -> Sites:
        """One site, ``default``, with the built-in policies (``consult`` first)."""
        return cls({"default": ("consult", "followup", "surgical", "gcc")})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Sites:
        """Read ``[sites.NAME] policies = ["consult", "tuned.toml", ...]`` tables."""
        p = Path(path)
        try:
            doc = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{p}: not valid TOML: {exc}") from exc
        unknown = set(doc) - {"sites"}
        if unknown:
            raise InputError(f"{p}: unknown tables {sorted(unknown)} (expected [sites.NAME])")
        sites = doc.get("sites")
        if not isinstance(sites, dict) or not sites:
            raise InputError(f"{p}: no [sites.NAME] table")
        out: dict[str, tuple[str, ...]] = {}
        for name, table in sites.items():
            if not _SITE_PATTERN.fullmatch(name):
                raise InputError(f"{p}: sites.{name}: a site name is [a-z0-9_-], 1-64 chars")
            if not isinstance(table, dict) or set(table) - {"policies"}:
                raise InputError(f"{p}: sites.{name}: expected only 'policies = [...]'")
            pols = table.get("policies")
            if not isinstance(pols, list) or not pols or not all(isinstance(x, str) for x in pols):
                raise InputError(f"{p}: sites.{name}.policies: expected a list of policy names")
            out[name] = tuple(
                str((p.parent / x).resolve()) if x.endswith(".toml") else x for x in pols
            )
        return cls(out)


def read_token(path: str | os.PathLike[str]) -> bytes:
    """The bearer token in ``path`` (whitespace stripped); refuses an empty or shared file."""
    p = Path(path)
    try:
        st = p.stat()
        data = p.read_bytes().strip()
    except OSError as exc:
        raise InputError(f"--token-file: cannot read {p}: {exc.strerror or exc}") from exc
    if st.st_mode & 0o007:
        raise InputError(f"--token-file: {p} is readable by others (chmod 600 it)")
    if len(data) < 16:
        raise InputError(f"--token-file: {p}: the token must be at least 16 characters")
    return data


class _RequestError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _error(status: int, reason: str) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.json_response({"error": reason}, status=status, headers=headers)


#: Where the application keeps its fleet and its metrics (``app[FLEET_KEY]``).
FLEET_KEY = web.AppKey("fleet", Fleet)
METRICS_KEY: web.AppKey[Any] = web.AppKey("metrics")

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    fleet: Fleet,
    *,
    token: bytes,
    sites: Sites | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    evict_every_s: float = 1.0,
) -> web.Application:
    """The aiohttp application serving ``fleet`` (see the module doc for the routes)."""
    site_cfg = sites or Sites.default()
    metrics = Metrics(fleet)
    expected = b"Bearer " + token

    @web.middleware
    async def account(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return await handler(request)
        t0 = time.perf_counter()
        try:
            if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
                resp: web.StreamResponse = _error(401, "missing or wrong bearer token")
            else:
                resp = await handler(request)
        except _RequestError as exc:
            resp = _error(exc.status, exc.reason)
        except web.HTTPRequestEntityTooLarge:
            resp = _error(413, f"body larger than {max_body_bytes} bytes")
        except web.HTTPException as exc:
            resp = _error(exc.status, exc.reason)
        except Exception:  # a bug must not take the service down; it is logged and counted
            log.exception("error handling %s %s", request.method, request.path)
            resp = _error(500, "internal error (logged)")
        metrics.ingest_seconds.observe(time.perf_counter() - t0)
        metrics.ingest_requests.labels(code=str(resp.status)).inc()
        return resp

    async def body(request: web.Request, allowed: frozenset[str], *, required: bool) -> Any:
        length = request.content_length
        if length is not None and length > max_body_bytes:
            raise _RequestError(413, f"body larger than {max_body_bytes} bytes")
        raw = await request.read()
        if not raw.strip():
            if required:
                raise _RequestError(400, "empty body: expected a JSON object")
            return {}
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _RequestError(400, f"body is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise _RequestError(422, "body: expected a JSON object")
        extra = sorted(set(doc) - allowed)
        if extra:
            raise _RequestError(422, f"unknown fields {extra}; allowed: {sorted(allowed)}")
        ts = doc.get("timestamp_us")
        if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int) or ts < 0):
            raise _RequestError(422, "timestamp_us: expected a non-negative integer")
        return doc

    def call_id(request: web.Request) -> str:
        cid = request.match_info["call_id"]
        if not CALL_ID_PATTERN.fullmatch(cid):
            raise _RequestError(400, "call_id: 1-128 of [A-Za-z0-9._:-], starting alphanumeric")
        return cid

    def parsed(doc: dict[str, Any]) -> Any:
        try:
            return parse_snapshot(doc["report"], doc.get("timestamp_us"))
        except InputError as exc:
            raise _RequestError(422, str(exc)) from None

    def verdict(cid: str) -> dict[str, Any]:
        m = fleet.get(cid)
        assert m is not None
        return {
            "call_id": cid,
            "site": m.site,
            "tier": m.tier,
            "policy": m.policy,
            "ended": m.ended,
            "state": m.state,
            "reasons": list(m.reasons),
            "availability": round(m.availability, 6),
            "windows": m.summary.windows,
        }

    async def post_stats(request: web.Request) -> web.Response:
        cid = call_id(request)
        doc = await body(request, _STATS_FIELDS, required=True)
        if "report" not in doc:
            raise _RequestError(422, "body: 'report' (a getStats() result) is required")
        site = doc.get("site")
        policy = doc.get("policy")
        if site is not None and not isinstance(site, str):
            raise _RequestError(422, "site: expected a string")
        if policy is not None and not isinstance(policy, str):
            raise _RequestError(422, "policy: expected a string")
        snap = parsed(doc)
        existing = fleet.get(cid)
        if existing is not None:
            if existing.ended:
                raise _RequestError(409, f"call {cid} has ended")
            if site is not None and site != existing.site:
                raise _RequestError(409, f"call {cid} is at site {existing.site!r}")
            if policy is not None and fleet.profile_name(policy) != existing.policy:
                raise _RequestError(409, f"call {cid} is judged by policy {existing.policy!r}")
            site, spec = existing.site, existing.policy
        else:
            if site is None:
                if len(site_cfg.policies) != 1:
                    raise _RequestError(422, "site: required (several sites are configured)")
                site = next(iter(site_cfg.policies))
            allowed = site_cfg.policies.get(site)
            if allowed is None:
                raise _RequestError(422, f"site: {site!r} is not a configured site")
            found = allowed[0] if policy is None else _allowed_spec(fleet, allowed, policy)
            if found is None:
                raise _RequestError(422, f"policy: {policy!r} is not allowed at site {site!r}")
            spec = found
        try:
            fleet.add_stats(cid, snap, site=site, policy=spec)
        except FleetFullError as exc:
            raise _RequestError(503, str(exc)) from None
        return web.json_response(verdict(cid))

    async def post_end(request: web.Request) -> web.Response:
        cid = call_id(request)
        doc = await body(request, _END_FIELDS, required=False)
        if cid not in fleet:
            raise _RequestError(404, f"no call {cid}")
        snap = parsed(doc) if "report" in doc else None
        mon = fleet.get(cid)
        assert mon is not None
        if snap is not None and not mon.ended:
            fleet.add_stats(cid, snap, site=mon.site, policy=mon.policy)
        fleet.end(cid)
        return web.json_response(verdict(cid))

    async def get_calls(request: web.Request) -> web.Response:
        return web.json_response({"calls": fleet.calls()})

    async def get_metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "calls": len(fleet)})

    async def evictor(app: web.Application) -> Any:
        async def loop() -> None:
            while True:
                await asyncio.sleep(evict_every_s)
                try:
                    fleet.evict()
                except Exception:  # keep evicting whatever one call did
                    log.exception("eviction failed")

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app = web.Application(middlewares=[account], client_max_size=max_body_bytes)
    app.router.add_post("/v1/calls/{call_id}/stats", post_stats)
    app.router.add_post("/v1/calls/{call_id}/end", post_end)
    app.router.add_get("/v1/calls", get_calls)
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(evictor)
    app[FLEET_KEY] = fleet
    app[METRICS_KEY] = metrics
    return app


def _allowed_spec(fleet: Fleet, allowed: tuple[str, ...], policy: str) -> str | None:
    """The configured policy spec whose policy is named ``policy`` (or is ``policy``)."""
    for spec in allowed:
        if spec == policy or fleet.profile_name(spec) == policy:
            return spec
    return None


def run(
    fleet: Fleet,
    *,
    token: bytes,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    sites: Sites | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; ``ready`` is called with the URL once listening."""

    async def main() -> None:
        app = create_app(fleet, token=token, sites=sites, max_body_bytes=max_body_bytes)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        addr = runner.addresses[0]
        url = f"http://{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else str(addr)
        if ready is not None:
            ready(url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # pragma: no cover - signal handlers normally catch it
        print("mediaopt monitor: interrupted", file=sys.stderr)
