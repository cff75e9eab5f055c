"""Replicas starting at once on a fresh SQLite file: the switch to WAL mode can be answered
"database is locked" at once, without the busy timeout being waited out (seen in CI as a failed
test_schema_creation_races: one replica's first write lost). The switch is retried until the
busy timeout, and skipped when another replica has already made the file WAL."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

pytestmark = pytest.mark.unit


class _Cursor:
    def __init__(self, log: list[str], busy: int, mode: str) -> None:
        self.log, self.busy, self.mode = log, busy, mode

    def execute(self, sql: str) -> _Cursor:
        self.log.append(sql)
        if sql.endswith("= WAL"):
            if self.busy:
                self.busy -= 1
                raise sqlite3.OperationalError("database is locked")
            self.mode = "wal"
        return self

    def fetchone(self) -> tuple[str]:
        return (self.mode,)


class _Engine:
    def __init__(self, busy: int, mode: str = "delete") -> None:
        self.log: list[str] = []
        self.cursor = _Cursor(self.log, busy, mode)

    def raw_connection(self) -> Any:
        engine = self

        class _Raw:
            def cursor(self) -> _Cursor:
                return engine.cursor

            def close(self) -> None:
                engine.log.append("close")

        return _Raw()


def test_a_locked_switch_is_retried() -> None:
    from assistant.http.feedback import _wal

    engine = _Engine(busy=3)
    _wal(engine)  # type: ignore[arg-type]
    assert engine.cursor.mode == "wal"
    assert engine.log.count("PRAGMA journal_mode = WAL") == 4 and engine.log[-1] == "close"


def test_a_file_already_in_wal_mode_is_left_alone() -> None:
    from assistant.http.feedback import _wal

    engine = _Engine(busy=1, mode="wal")
    _wal(engine)  # type: ignore[arg-type]
    assert "PRAGMA journal_mode = WAL" not in engine.log

