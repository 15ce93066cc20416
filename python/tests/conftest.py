"""Shared set-up: the CPython guest must be on the machine (fetched once)."""

import pytest

import stockade


@pytest.fixture(scope="session", autouse=True)
def python_guest() -> None:
    if not stockade.python_fetched():
        stockade.fetch_python()


@pytest.fixture
def long_wall() -> dict:
    """A policy whose wall time outlasts any test, so only a cancel stops a run."""
    return {"limits": {"wall_ms": 120_000}}
