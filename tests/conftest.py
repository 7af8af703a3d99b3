"""Shared fixtures: every test runs in its own directory with its own database and no
credentials or collabscope settings inherited from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fresh working dir; no OPENAI_* or COLLABSCOPE_* variables leak in."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "COLLABSCOPE_", "AZURE_OPENAI")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.db"


@pytest.fixture
def store(db_path: Path):
    from extractor.store import Store

    s = Store.open(db_path)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def sigint_restored():
    """Ctrl-C tests send SIGINT to child processes, which inherit an *ignored* SIGINT (and
    then never see it) if some earlier test's library code left this process ignoring it;
    restore the disposition after every test so no test depends on the order of others."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    yield
    if signal.getsignal(signal.SIGINT) is not before and before is not None:
        signal.signal(signal.SIGINT, before)
