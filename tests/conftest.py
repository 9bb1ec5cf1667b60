"""Shared fixtures: runs on disk in both layouts (see tests/fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import FixtureRun, write_fixture_run


@pytest.fixture
def library_run(tmp_path: Path) -> FixtureRun:
    """A finished run in the layout the library writes (logs/trainer/rank_N.log ...)."""
    return write_fixture_run(tmp_path / "run", "library")


@pytest.fixture
def latest_run(tmp_path: Path) -> FixtureRun:
    """A finished run in prime-rl's newer layout: logs/latest -> attempt_1."""
    return write_fixture_run(tmp_path / "run", "latest")


@pytest.fixture(params=["library", "latest"])
def fixture_run(request: pytest.FixtureRequest, tmp_path: Path) -> FixtureRun:
    """Each layout in turn."""
    return write_fixture_run(tmp_path / "run", request.param)
