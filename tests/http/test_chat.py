"""/api/chat and /api/chat/stream: answers, SSE framing and order, logging."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import PLAN_ID, admin_headers, ask, parse_sse

pytestmark = pytest.mark.integration


def test_chat_answer(client: httpx.Client) -> None:
    r = client.post("/api/chat", json=ask())
    assert r.status_code == 200, r.text
    body = r.json()
    for key in (
        "answer",
        "status",
        "intent",
        "citations",
        "suggestions",
        "plan_ids",
        "mode",
        "notice",
        "message_id",
    ):
        assert key in body
    assert body["status"] == "answered" and body["citations"]
    assert body["plan_ids"] == [PLAN_ID]
    c = body["citations"][0]
    assert {"marker", "plan_id", "plan_title", "quote"} <= set(c)


def test_chat_multi_turn(client: httpx.Client) -> None:
    first = client.post("/api/chat", json=ask()).json()
    messages = [
        {"role": "user", "content": "县商务委牵头哪些任务？"},
        {"role": "assistant", "content": first["answer"][:500]},
        {"role": "user", "content": "第24项由谁牵头？"},
    ]
    r = client.post("/api/chat", json={"messages": messages, "plan_id": PLAN_ID})
    assert r.status_code == 200, r.text
    assert r.json()["answer"]


def test_stream_framing_order_and_equality(client: httpx.Client) -> None:
    plain = client.post("/api/chat", json=ask()).json()
    with client.stream("POST", "/api/chat/stream", json=ask()) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode("utf-8")
    assert "\n\n" in raw and raw.startswith("event: meta\n")
    events = parse_sse(raw)
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "done"
    assert names[-2] == "citations"
    assert set(names[1:-2]) == {"delta"} and len(names[1:-2]) >= 1
    data = [json.loads(d) for _, d in events]
    meta, done = data[0], data[-1]
    assert meta["message_id"] == done["message_id"] and meta["intent"] == done["intent"]
    assert meta["plan_ids"] == [PLAN_ID]
    text = "".join(d["text"] for (n, _), d in zip(events, data, strict=True) if n == "delta")
    assert text == done["answer"] == plain["answer"]
    assert data[-2]["citations"] == done["citations"] == plain["citations"]
    assert done["status"] == plain["status"]


def test_conversation_logged_before_response(client: httpx.Client) -> None:
    body = client.post("/api/chat", json=ask()).json()
    log = client.get(f"/api/feedback/{body['message_id']}", headers=admin_headers()).json()
    conv = log["conversation"]
    assert conv["messages"] == ask()["messages"] and conv["answer"]["answer"] == body["answer"]
    assert conv["status"] == body["status"] and conv["intent"] == body["intent"]
    assert conv["latency_ms"] >= 0 and conv["request_id"]

    with client.stream("POST", "/api/chat/stream", json=ask()) as r:
        done = json.loads(parse_sse(r.read().decode())[-1][1])
    log = client.get(f"/api/feedback/{done['message_id']}", headers=admin_headers()).json()
    assert log["conversation"]["answer"]["answer"] == done["answer"]


def test_stream_bad_input_is_http_error(client: httpx.Client) -> None:
    r = client.post("/api/chat/stream", json={"messages": [{"role": "user", "content": "  "}]})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/json")
    r = client.post("/api/chat/stream", json=ask(plan_id="nope"))
    assert r.status_code == 404 and r.json()["error"] == "unknown_plan"


def test_feedback_round_trip(client: httpx.Client) -> None:
    mid = client.post("/api/chat", json=ask()).json()["message_id"]
    r = client.post(
        "/api/feedback", json={"message_id": mid, "rating": "down", "comment": "不够详细"}
    )
    assert r.status_code == 200 and r.json() == {"ok": True}
    rows = client.get(f"/api/feedback/{mid}", headers=admin_headers()).json()["feedback"]
    assert [(f["rating"], f["comment"]) for f in rows] == [("down", "不够详细")]
    # an id this service never issued is refused, clearly, and nothing is stored
    r = client.post("/api/feedback", json={"message_id": "never-issued", "rating": "up"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_message"
    assert "反馈未保存" in r.json()["message"]
    assert client.get("/api/feedback/never-issued", headers=admin_headers()).json()["feedback"] == []
