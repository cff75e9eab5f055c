"""Pipeline failures (which a healthy pipeline cannot be made to produce on demand):
the app in-process with a failing stand-in Assistant, to check that a crash becomes
a JSON 500 / an SSE `error` event, never a stack trace, and is still logged."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.http.server import create_app
from assistant.settings import load_settings

from .conftest import ADMIN_TOKEN, IndexEnv, admin_headers, parse_sse

pytestmark = pytest.mark.integration


class BrokenAssistant:
    def validate(
        self, messages: list[dict[str, Any]], plan_id: str | None = None, store: Any = None
    ) -> list[str]:
        return [
            m["content"] for m in messages if m["role"] == "user"
        ]  # input is fine; answering fails

    def answer(self, messages: list[dict[str, Any]], plan_id: str | None = None) -> Any:
        raise RuntimeError("secret internal detail")

    def stream(
        self, messages: list[dict[str, Any]], plan_id: str | None = None
    ) -> Iterator[tuple[str, dict]]:
        yield "meta", {"intent": "applies", "plan_ids": []}
        yield "delta", {"text": "部分回答"}
        raise RuntimeError("secret internal detail")


def make_client(tmp_path: Path, index_dir: Path) -> TestClient:
    settings = load_settings(
        {
            "ASSISTANT_INDEX_DIR": str(index_dir),
            "ASSISTANT_EMBED_MODE": "hash",
            "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
            "ASSISTANT_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    app = create_app(settings)
    app.state.service._assistant = BrokenAssistant()
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def broken(tmp_path: Path, index_env: IndexEnv) -> Iterator[TestClient]:
    """A real index, a pipeline that fails."""
    with make_client(tmp_path, index_env.index_dir) as c:
        yield c


@pytest.fixture
def no_index(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, tmp_path / "no-index") as c:
        yield c


def question() -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "有哪些措施？"}]}


def test_chat_failure_is_json_500_and_logged(broken: TestClient) -> None:
    r = broken.post("/api/chat", json=question())
    assert r.status_code == 500 and r.json()["error"] == "internal_error"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert r.json()["request_id"] == r.headers["x-request-id"]
    db = broken.app.state.service.feedback.path  # type: ignore[attr-defined]
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT status, messages FROM conversations WHERE request_id = ?",
            (r.json()["request_id"],),
        ).fetchall()
    finally:
        con.close()
    assert rows and rows[0][0] == "error" and json.loads(rows[0][1]) == question()["messages"]


def test_stream_failure_is_error_event_and_logged(broken: TestClient) -> None:
    r = broken.post("/api/chat/stream", json=question())
    assert r.status_code == 200
    events = parse_sse(r.text)
    assert [n for n, _ in events] == ["meta", "delta", "error"]
    err = json.loads(events[-1][1])
    assert err["error"] == "internal_error" and err["message"] and "secret" not in r.text
    mid = json.loads(events[0][1])["message_id"]
    conv = broken.get(f"/api/feedback/{mid}", headers=admin_headers()).json()["conversation"]
    assert conv["status"] == "error" and conv["messages"] == question()["messages"]


def test_openai_stream_failure_is_error_frame(broken: TestClient) -> None:
    r = broken.post("/v1/chat/completions", json={**question(), "stream": True})
    frames = [f for f in r.text.split("\n\n") if f]
    assert json.loads(frames[-1][6:])["error"]["code"] == "internal_error"
    assert "data: [DONE]" not in frames


def test_not_ready_without_index(no_index: TestClient) -> None:
    assert no_index.get("/healthz").status_code == 200
    r = no_index.get("/readyz")
    assert (
        r.status_code == 503
        and r.json()["error"] == "index_missing"
        and "索引" in r.json()["message"]
    )
    for r in (
        no_index.get("/api/plans"),
        no_index.post("/api/chat", json=question()),
        no_index.post("/api/chat/stream", json=question()),
    ):
        assert r.status_code == 503 and r.json()["error"] == "index_missing", r.text
    r = no_index.post("/v1/chat/completions", json=question())
    assert r.status_code == 503 and r.json()["error"]["code"] == "index_missing"
