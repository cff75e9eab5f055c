"""Feedback and conversation log through SQLAlchemy: SQLite (WAL) at
settings.data_dir/assistant.sqlite3 by default, PostgreSQL when ASSISTANT_DATABASE_URL names
one, so that API replicas share it (docs/deploy.md).

Every write is committed before the HTTP response that acknowledges it is sent. SQLite: a busy
timeout so several workers can write at once, synchronous=FULL so a committed row survives a
crash, writes in BEGIN IMMEDIATE. The schema is created on first use, idempotently and safely
when replicas start at once: in one IMMEDIATE transaction on SQLite, under a transaction-level
advisory lock on PostgreSQL (both have transactional DDL). A database that cannot be reached is
a 503 that says nothing was saved, never a silent loss.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from .guards import ApiError

log = logging.getLogger("assistant.feedback")
DB_NAME = "assistant.sqlite3"
BUSY_TIMEOUT_S = 15.0
PG_CONNECT_TIMEOUT_S = 5
SCHEMA_LOCK = 7_212_002  # pg_advisory_xact_lock key: one schema creation at a time
UNAVAILABLE = "记录数据库暂时不可用，本次内容未保存，请稍后再试。"

metadata = MetaData()
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Text, nullable=False),
    Column("rating", Text, CheckConstraint("rating IN ('up', 'down')"), nullable=False),
    Column("comment", Text),
    Column("created_at", Text, nullable=False),
    Column("client", Text),
    Index("feedback_message", "message_id"),
    sqlite_autoincrement=True,
)
conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Text, nullable=False, unique=True),
    Column("request_id", Text),
    Column("endpoint", Text),
    Column("plan_id", Text),
    Column("messages", Text, nullable=False),
    Column("answer", Text),
    Column("status", Text, nullable=False),
    Column("intent", Text),
    Column("latency_ms", Integer),
    Column("created_at", Text, nullable=False),
    Column("client", Text),
    sqlite_autoincrement=True,
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _wal(engine: Engine) -> None:
    """Put the SQLite file in WAL mode (kept in the file: once is enough). Switching needs the
    file to itself, and SQLite answers "database is locked" at once, without waiting out the
    busy timeout, while another replica is writing its first rows: so it is retried until that
    timeout, and skipped when another replica has already switched it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        while True:
            try:
                if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    cur.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        raw.close()


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_con: Any, _record: Any) -> None:
        dbapi_con.isolation_level = None  # transactions are begun below, not by the driver
        cur = dbapi_con.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@lru_cache(maxsize=2)
def _upsert_conversation(dialect: str) -> Any:
    """One row per message id, the latest wins: the statement built once per dialect, its
    values given at execution (building it per request cost ~0.4 ms of CPU)."""
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(conversations)
    return stmt.on_conflict_do_update(
        index_elements=[conversations.c.message_id],
        set_={c.name: stmt.excluded[c.name] for c in conversations.c if c.name not in ("id", "message_id")},
    )


class FeedbackStore:
    def __init__(self, data_dir: Path, url: str | None = None):
        """`url` None: SQLite at data_dir/assistant.sqlite3; else any SQLAlchemy URL
        (settings.database_url has already checked it is SQLite or PostgreSQL)."""
        if url is None:
            self.path: Path | None = Path(data_dir) / DB_NAME
            target = URL.create("sqlite", database=str(self.path))  # no URL parsing of the path
        else:
            target = make_url(url)
            database = target.database
            self.path = (
                Path(database) if target.get_backend_name() == "sqlite" and database else None
            )
        self.dialect = target.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(target)
        else:
            self.engine = create_engine(
                target, pool_pre_ping=True, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S}
            )
        self._writer = self.engine.execution_options(write=True)
        self._ready = False
        self._init_lock = threading.Lock()

    @contextmanager
    def _available(self) -> Iterator[None]:
        """A database that cannot be reached (or stays locked) becomes a 503 saying so."""
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            log.error("feedback/log database unavailable: %s", exc)
            raise ApiError(503, "storage_unavailable", UNAVAILABLE) from exc

    def _init(self) -> None:
        if self._ready:
            return
        with self._init_lock:
            if self._ready:
                return
            with self._available():
                if self.dialect == "sqlite":
                    if self.path is not None:
                        self.path.parent.mkdir(parents=True, exist_ok=True)
                    _wal(self.engine)
                with self._writer.begin() as conn:
                    if self.dialect == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
                    metadata.create_all(conn, checkfirst=True)
            self._ready = True

    def _write(self, stmt: Any, params: dict[str, Any] | None = None) -> int:
        self._init()
        with self._available(), self._writer.begin() as conn:
            result = conn.execute(stmt, params)
            key = result.inserted_primary_key
        return int(key[0]) if key and key[0] is not None else 0

    def _read(self, stmt: Any) -> list[dict[str, Any]]:
        self._init()
        with self._available(), self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings().all()]

    # ---- feedback
    def add_feedback(
        self, message_id: str, rating: str, comment: str | None, client: str | None
    ) -> int:
        return self._write(
            feedback.insert().values(
                message_id=message_id,
                rating=rating,
                comment=comment,
                created_at=_now(),
                client=client,
            )
        )

    def feedback_for(self, message_id: str) -> list[dict[str, Any]]:
        c = feedback.c
        return self._read(
            select(c.message_id, c.rating, c.comment, c.created_at, c.client)
            .where(c.message_id == message_id)
            .order_by(c.id)
        )

    def has_message(self, message_id: str) -> bool:
        """Whether this service issued (and logged) an answer with this id."""
        c = conversations.c
        return bool(self._read(select(c.id).where(c.message_id == message_id).limit(1)))

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
        row = {
            "message_id": message_id,
            "request_id": request_id,
            "endpoint": endpoint,
            "plan_id": plan_id,
            "messages": json.dumps(messages, ensure_ascii=False),
            "answer": json.dumps(answer, ensure_ascii=False) if answer is not None else None,
            "status": status,
            "intent": intent,
            "latency_ms": latency_ms,
            "created_at": _now(),
            "client": client,
        }
        self._write(_upsert_conversation(self.dialect), row)

    def conversation(self, message_id: str) -> dict[str, Any] | None:
        rows = self._read(select(conversations).where(conversations.c.message_id == message_id))
        if not rows:
            return None
        out = rows[0]
        out["messages"] = json.loads(out["messages"])
        out["answer"] = json.loads(out["answer"]) if out["answer"] else None
        out.pop("id", None)
        return out
