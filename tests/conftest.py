"""Shared fixtures: the recorded-trace folder (skip cleanly when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediaopt._paths import shared_trace_dir


@pytest.fixture(scope="session")
def shared_traces() -> Path:
    """The folder of recorded traces (``../shared/traces`` or ``$MEDIAOPT_TRACE_DIR``)."""
    d = shared_trace_dir()
    if d is None:
        pytest.skip("recorded traces not present (../shared/traces or $MEDIAOPT_TRACE_DIR)")
    return d


def _hypothesis_profiles() -> None:
    # No per-example deadline: the debug core (line tracing, -O0) is many times slower and
    # shared CI machines are noisy. CI also derandomizes so a run is repeatable.
    from hypothesis import settings

    settings.register_profile("dev", deadline=None, max_examples=60)
    settings.register_profile(
        "ci", deadline=None, max_examples=60, derandomize=True, print_blob=True
    )
    import os

    settings.load_profile("ci" if os.environ.get("CI") else "dev")


_hypothesis_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden``: accept the current call-quality metrics as the new golden ones."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.json from the current replay results (intended changes)",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite the golden call-quality results."""
    return bool(request.config.getoption("--update-golden"))
