"""Shared fixtures: every test runs in its own directory with its own database and no
credentials or collabscope settings inherited from the environment.

Databases and fake servers are opened through fixtures so that teardown closes every one
of them, whatever the test did: a Store left open keeps its WAL and file handles until
garbage collection, and a fake server left running keeps a thread and a port.

- ``store``: a fresh database at ``db_path`` (``tmp_path / "test.db"``).
- ``store_factory``: ``store_factory(path=None, **open_kwargs)`` opens more stores (another
  file, or a second connection to the same one); each is closed at teardown.
- ``fake_openai``: a started loopback fake OpenAI server (:mod:`devtools.fake_openai`),
  stopped at teardown. Configure it per test or per module with
  ``@pytest.mark.fake_openai(responder=..., latency=..., batch_polls=...)`` (the keyword
  arguments of ``FakeOpenAI``).
- ``fake_openai_factory``: ``fake_openai_factory(**kwargs)`` starts further servers (a test
  that needs a healthy and a refusing endpoint at once); each is stopped at teardown.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.fake_openai import FakeOpenAI
from extractor.store import Store

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"

StoreFactory = Callable[..., Store]
FakeOpenAIFactory = Callable[..., FakeOpenAI]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fake_openai(**kwargs): FakeOpenAI arguments for the fake_openai fixture")


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
def store_factory(db_path: Path) -> Iterator[StoreFactory]:
    """Open stores (``db_path`` unless told otherwise); all are closed at teardown."""
    opened: list[Store] = []

    def open_store(path: Path | str | None = None, **kwargs: Any) -> Store:
        store = Store.open(db_path if path is None else path, **kwargs)
        opened.append(store)
        return store

    yield open_store
    for store in reversed(opened):
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    """A fresh database at ``db_path``, closed at teardown."""
    return store_factory()


@pytest.fixture
def fake_openai_factory() -> Iterator[FakeOpenAIFactory]:
    """Start fake OpenAI servers with ``FakeOpenAI`` keyword arguments; all stop at teardown."""
    started: list[FakeOpenAI] = []

    def start(**kwargs: Any) -> FakeOpenAI:
        server = FakeOpenAI(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def fake_openai(request: pytest.FixtureRequest, fake_openai_factory: FakeOpenAIFactory) -> FakeOpenAI:
    """A running fake OpenAI server, configured by the closest ``fake_openai`` marker."""
    marker = request.node.get_closest_marker("fake_openai")
    return fake_openai_factory(**(marker.kwargs if marker else {}))


@pytest.fixture(autouse=True)
def sigint_restored() -> Iterator[None]:
    """Ctrl-C tests send SIGINT to child processes, which inherit an *ignored* SIGINT (and
    then never see it) if some earlier test's library code left this process ignoring it;
    restore the disposition after every test so no test depends on the order of others."""
    before = signal.getsignal(signal.SIGINT)
    yield
    if signal.getsignal(signal.SIGINT) is not before and before is not None:
        signal.signal(signal.SIGINT, before)
