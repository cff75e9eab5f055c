"""Guard rails: bad input, body size, CORS, admin auth, rate limiting."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from .conftest import ALLOWED_ORIGIN, PLAN_ID, ServerProcess, admin_headers, ask
from .test_api import assert_chinese_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "body",
    [
        {"messages": []},
        {"messages": [{"role": "user", "content": ""}]},
        {"messages": [{"role": "user", "content": "   \n"}]},
        {
            "messages": [
                {"role": "user", "content": "你好"},
                {"role": "assistant", "content": "你好"},
            ]
        },
    ],
    ids=["no-messages", "empty", "blank", "last-not-user"],
)
def test_empty_or_misplaced_question(client: httpx.Client, body: dict) -> None:
    assert_chinese_error(client.post("/api/chat", json=body), 422)


@pytest.mark.parametrize(
    "body",
    [
        {"messages": "县商务委牵头哪些任务？"},
        {"messages": [{"role": "user", "content": 42}]},
        {"messages": [{"role": "user", "content": ["a"]}]},
        {"messages": [{"role": "robot", "content": "hi"}]},
        {"messages": [{"content": "hi"}]},
        {"messages": [{"role": "user", "content": "hi"}], "plan_id": 7},
        [{"role": "user", "content": "hi"}],
        "hi",
        {},
    ],
    ids=[
        "str-messages",
        "int-content",
        "list-content",
        "bad-role",
        "no-role",
        "int-plan",
        "list-body",
        "str-body",
        "empty-object",
    ],
)
def test_wrong_types(client: httpx.Client, body: object) -> None:
    assert_chinese_error(client.post("/api/chat", json=body), 422)


def test_invalid_json(client: httpx.Client) -> None:
    for raw in (b"{not json", b'{"messages": [', b"\xff\xfe"):
        body = assert_chinese_error(
            client.post("/api/chat", content=raw, headers={"content-type": "application/json"}), 400
        )
        assert body["error"] == "invalid_json"


def test_unknown_plan(client: httpx.Client) -> None:
    assert_chinese_error(
        client.post("/api/chat", json=ask(plan_id="no-such-plan")), 404, "unknown_plan"
    )


def test_message_too_long(client: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "县" * 2001}], "plan_id": PLAN_ID}
    assert_chinese_error(client.post("/api/chat", json=body), 422, "message_too_long")


def test_two_thousand_turns_rejected(client: httpx.Client) -> None:
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"第{i}轮"} for i in range(2000)
    ]
    turns.append({"role": "user", "content": "县商务委牵头哪些任务？"})
    r = client.post("/api/chat", json={"messages": turns})
    assert_chinese_error(r, 422, "too_many_messages")
    r = client.post("/v1/chat/completions", json={"model": "plan-assistant", "messages": turns})
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_messages"


def test_ten_megabyte_body(client: httpx.Client) -> None:
    big = json.dumps(
        {"messages": [{"role": "user", "content": "县" * (10 * 1024 * 1024 // 3)}]}
    ).encode()
    assert len(big) > 10_000_000
    assert_chinese_error(
        client.post("/api/chat", content=big, headers={"content-type": "application/json"}),
        413,
        "body_too_large",
    )


def test_body_limit_without_content_length(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # chunked transfer encoding: no Content-Length at all
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(64):
            yield b"a" * 16384
        yield b'"}]}'

    r = client.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_chinese_error(r, 413, "body_too_large")
    r = client.post("/api/feedback", content=chunks(), headers={"content-type": "application/json"})
    assert_chinese_error(r, 413, "body_too_large")


@pytest.mark.parametrize(
    "body",
    [
        {"message_id": "", "rating": "up"},
        {"message_id": "x" * 101, "rating": "up"},
        {"message_id": 123, "rating": "up"},
        {"message_id": "m-1", "rating": "meh"},
        {"message_id": "m-1", "rating": 1},
        {"message_id": "m-1", "rating": "up", "comment": 5},
        {"message_id": "m-1", "rating": "up", "comment": "长" * 2001},
        {"rating": "up"},
    ],
    ids=[
        "empty-id",
        "long-id",
        "int-id",
        "bad-rating",
        "int-rating",
        "int-comment",
        "long-comment",
        "no-id",
    ],
)
def test_feedback_validation(client: httpx.Client, body: dict) -> None:
    assert_chinese_error(client.post("/api/feedback", json=body), 422)


def test_admin_requires_token(client: httpx.Client) -> None:
    assert_chinese_error(client.post("/api/admin/reindex"), 403, "forbidden")
    assert_chinese_error(
        client.post("/api/admin/reindex", headers={"Authorization": "Bearer wrong"}), 403
    )
    assert_chinese_error(client.get("/api/feedback/x", headers={"Authorization": "Basic abc"}), 403)
    assert client.get("/api/feedback/x", headers=admin_headers()).status_code == 200


def test_cors_preflight(client: httpx.Client) -> None:
    ok = client.options(
        "/api/chat/stream",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "content-type" in ok.headers["access-control-allow-headers"].lower()
    simple = client.get("/api/plans", headers={"Origin": ALLOWED_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN

    bad = client.options(
        "/api/chat/stream",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
    assert bad.json()["error"] == "cors_forbidden"
    assert (
        "access-control-allow-origin"
        not in client.get("/api/plans", headers={"Origin": "http://evil.example"}).headers
    )


def test_rate_limit(limited_server: ServerProcess) -> None:
    with limited_server.client() as c:
        statuses = []
        for _ in range(10):  # burst is 3
            r = c.get("/api/plans")
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
        assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429, statuses
        assert int(r.headers["retry-after"]) >= 1
        body = assert_chinese_error(r, 429, "rate_limited")
        assert body["retry_after"] >= 1
        v1 = c.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": "你好"}]}
        )
        assert v1.status_code == 429 and v1.json()["error"]["code"] == "rate_limited"
        assert c.get("/healthz").status_code == 200  # health checks are never limited
