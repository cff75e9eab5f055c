"""The replica-shared state without servers: the settings that name it, the rate limiter's
window and costs (in memory), and the feedback store's SQLite default, its refusals and its
answer when the database cannot be reached. The shared case (PostgreSQL, Redis, two API
processes) is tests/scale/test_replicas.py."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from assistant.http.feedback import DB_NAME, FeedbackStore
from assistant.http.guards import ApiError
from assistant.http.ratelimit import RateLimiter, window_seconds
from assistant.settings import load_settings

pytestmark = pytest.mark.unit


def test_state_urls_in_settings() -> None:
    default = load_settings({})
    assert default.database_url is None and default.ratelimit_url == "memory://"
    s = load_settings(
        {
            "ASSISTANT_DATABASE_URL": "postgresql://app:pw@db:5432/assistant",
            "ASSISTANT_RATELIMIT_URL": "redis://cache:6379/0",
        }
    )
    assert s.database_url == "postgresql+psycopg://app:pw@db:5432/assistant"  # the driver we ship
    assert s.ratelimit_url == "redis://cache:6379/0"
    assert load_settings({"ASSISTANT_DATABASE_URL": " "}).database_url is None
    with pytest.raises(ValidationError, match="ASSISTANT_DATABASE_URL 应为"):
        load_settings({"ASSISTANT_DATABASE_URL": "mysql://db/assistant"})
    with pytest.raises(ValidationError, match="ASSISTANT_RATELIMIT_URL 应为"):
        load_settings({"ASSISTANT_RATELIMIT_URL": "http://cache:6379"})


def test_rate_limit_window_and_costs() -> None:
    assert window_seconds(30, 10) == 20  # the defaults: 10 at once, 30 a minute sustained
    assert window_seconds(6, 3) == 30 and window_seconds(100_000, 100_000) == 60

    async def run() -> list[float]:
        limiter = RateLimiter("memory://", per_minute=6, burst=3)
        return [
            await limiter.take("a"),
            await limiter.take("a", cost=2),
            await limiter.take("a"),  # the window is spent
            await limiter.take("b", cost=50),  # over the burst: charged as the burst, passes once
            await limiter.take("b"),
        ]

    with ThreadPoolExecutor(1) as pool:  # its own thread: a browser test may own this one's loop
        first, second, third, big, after_big = pool.submit(asyncio.run, run()).result()
    assert first == second == 0.0 and big == 0.0
    assert 0 < third <= 30 and 0 < after_big <= 30


def test_sqlite_default_refusals_and_outage(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "data")
    assert store.path == tmp_path / "data" / DB_NAME  # today's file, today's place
    store.log_conversation(
        message_id="m-1", request_id="r", endpoint="/api/chat", plan_id=None,
        messages=[{"role": "user", "content": "问题"}], answer={"answer": "答"},
        status="answered", intent="x", latency_ms=5, client="127.0.0.1",
    )  # fmt: skip
    store.add_feedback("m-1", "up", "好", None)
    with pytest.raises(IntegrityError):  # the schema's own check: a bad rating stores nothing
        store.add_feedback("m-1", "meh", None, None)
    con = sqlite3.connect(store.path)
    try:
        assert con.execute("SELECT rating, comment FROM feedback").fetchall() == [("up", "好")]
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        con.close()
    assert store.conversation("m-1")["answer"] == {"answer": "答"}  # type: ignore[index]
    # the same message logged again (a failure, then its retry): one row, the latest wins
    store.log_conversation(
        message_id="m-1", request_id="r2", endpoint="/api/chat", plan_id="p",
        messages=[{"role": "user", "content": "问题"}], answer={"answer": "新答"},
        status="answered", intent="y", latency_ms=7, client=None,
    )  # fmt: skip
    again = store.conversation("m-1")
    assert again is not None and again["answer"] == {"answer": "新答"}
    assert (again["request_id"], again["plan_id"], again["intent"], again["latency_ms"]) == ("r2", "p", "y", 7)
    con = sqlite3.connect(store.path)
    try:
        assert con.execute("SELECT count(*) FROM conversations").fetchone() == (1,)
    finally:
        con.close()

    # nothing listens on port 1: a clear 503, nothing pretends to be saved
    down = FeedbackStore(tmp_path / "unused", "postgresql+psycopg://app@127.0.0.1:1/assistant")
    with pytest.raises(ApiError) as err:
        down.add_feedback("m-1", "up", None, None)
    assert err.value.status == 503 and err.value.code == "storage_unavailable"
    assert "未保存" in err.value.message
    assert not (tmp_path / "unused").exists()
