"""Feedback and conversation log in SQLite (WAL) under settings.data_dir.

One connection per operation (cheap for SQLite), a busy timeout so several uvicorn
workers can write at once, synchronous=FULL so a committed row survives a crash:
every write is committed before the HTTP response that acknowledges it is sent.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DB_NAME = "assistant.sqlite3"
BUSY_TIMEOUT_S = 15.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL,
    rating      TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment     TEXT,
    created_at  TEXT NOT NULL,
    client      TEXT
);
CREATE INDEX IF NOT EXISTS feedback_message ON feedback (message_id);
CREATE TABLE IF NOT EXISTS conversations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL UNIQUE,
    request_id  TEXT,
    endpoint    TEXT,
    plan_id     TEXT,
    messages    TEXT NOT NULL,
    answer      TEXT,
    status      TEXT NOT NULL,
    intent      TEXT,
    latency_ms  INTEGER,
    created_at  TEXT NOT NULL,
    client      TEXT
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class FeedbackStore:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / DB_NAME
        self._ready = False
        self._init_lock = threading.Lock()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._init()
        con = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            con.execute("PRAGMA synchronous = FULL")
            con.row_factory = sqlite3.Row
            yield con
        finally:
            con.close()

    def _init(self) -> None:
        with self._init_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
            try:
                con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                con.execute("PRAGMA journal_mode = WAL")
                con.executescript(SCHEMA)
            finally:
                con.close()
            self._ready = True

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                cur = con.execute(sql, params)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            return int(cur.lastrowid or 0)

    # ---- feedback
    def add_feedback(
        self, message_id: str, rating: str, comment: str | None, client: str | None
    ) -> int:
        return self._write(
            "INSERT INTO feedback (message_id, rating, comment, created_at, client)"
            " VALUES (?, ?, ?, ?, ?)",
            (message_id, rating, comment, _now(), client),
        )

    def feedback_for(self, message_id: str) -> list[dict[str, Any]]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT message_id, rating, comment, created_at, client FROM feedback "
                "WHERE message_id = ? ORDER BY id",
                (message_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    def has_message(self, message_id: str) -> bool:
        """Whether this service issued (and logged) an answer with this id."""
        with self._connect() as con:
            row = con.execute(
                "SELECT 1 FROM conversations WHERE message_id = ?", (message_id,)
            ).fetchone()
        return row is not None

    # ---- conversation log
    def log_conversation(
        self,
        *,
        message_id: str,
        request_id: str | None,
        endpoint: str,
        plan_id: str | None,
        messages: list[dict[str, Any]],
        answer: dict[str, Any] | None,
        status: str,
        intent: str | None,
        latency_ms: int,
        client: str | None,
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO conversations (message_id, request_id, endpoint, plan_id,"
            " messages, answer, status, intent, latency_ms, created_at, client)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message_id,
                request_id,
                endpoint,
                plan_id,
                json.dumps(messages, ensure_ascii=False),
                json.dumps(answer, ensure_ascii=False) if answer is not None else None,
                status,
                intent,
                latency_ms,
                _now(),
                client,
            ),
        )

    def conversation(self, message_id: str) -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT * FROM conversations WHERE message_id = ?", (message_id,)
            ).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["messages"] = json.loads(out["messages"])
        out["answer"] = json.loads(out["answer"]) if out["answer"] else None
        out.pop("id", None)
        return out
