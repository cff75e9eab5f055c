"""Lookup, health, static and docs endpoints against a real server."""

from __future__ import annotations

import httpx
import pytest

from .conftest import PLAN_ID

pytestmark = pytest.mark.integration


def assert_chinese_error(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body["message"], str) and any(
        "\u4e00" <= ch <= "\u9fff" for ch in body["message"]
    )
    assert body["request_id"]
    assert "Traceback" not in r.text
    if code:
        assert body["error"] == code
    return body


def test_healthz_and_readyz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["plans"] == 2


def test_request_id_round_trip(client: httpx.Client) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers[
        "x-request-id"
    ]
    assert generated and " " not in generated
    body = client.get("/api/plans/nope", headers={"X-Request-ID": "rid-404"}).json()
    assert body["request_id"] == "rid-404"


def test_plans(client: httpx.Client) -> None:
    plans = client.get("/api/plans").json()["plans"]
    assert {p["id"] for p in plans} == {"shizhu-2022", "dianjiang-2021"}
    detail = client.get(f"/api/plans/{PLAN_ID}").json()
    for key in (
        "title",
        "short_name",
        "region",
        "doc_number",
        "issued",
        "task_count",
        "suggestions",
    ):
        assert key in detail
    assert detail["task_count"] > 0 and detail["short_name"] == "石柱"
    assert detail["suggestions"] and all(isinstance(s, str) for s in detail["suggestions"])
    assert_chinese_error(client.get("/api/plans/no-such-plan"), 404, "unknown_plan")


def test_tasks_complete_lists(client: httpx.Client) -> None:
    r = client.get("/api/tasks", params={"unit": "商务委", "plan": PLAN_ID, "role": "lead"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["units"] == ["县商务委"]
    assert body["count"] == len(body["tasks"]) > 0
    assert all("县商务委" in t["lead"] and t["plan_id"] == PLAN_ID for t in body["tasks"])
    any_role = client.get("/api/tasks", params={"unit": "县商务委", "plan": PLAN_ID}).json()
    assert any_role["count"] >= body["count"]
    both_plans = client.get("/api/tasks", params={"unit": "县商务委"}).json()
    assert {t["plan_id"] for t in both_plans["tasks"]} == {"shizhu-2022", "dianjiang-2021"}
    assert_chinese_error(
        client.get("/api/tasks", params={"unit": "不存在的单位"}), 404, "unknown_unit"
    )
    assert_chinese_error(
        client.get("/api/tasks", params={"unit": "县商务委", "plan": "nope"}), 404, "unknown_plan"
    )
    assert_chinese_error(client.get("/api/tasks", params={"unit": "县商务委", "role": "boss"}), 422)
    assert_chinese_error(client.get("/api/tasks"), 422)


def test_units_alias_resolution(client: httpx.Client) -> None:
    body = client.get("/api/units", params={"q": "教委"}).json()
    assert body["count"] >= 1
    unit = body["units"][0]
    assert unit["name"] == "县教委" and "教委" in unit["aliases"] and unit["plans"]
    everything = client.get("/api/units").json()
    assert everything["count"] > 10
    assert client.get("/api/units", params={"q": "火星局"}).json()["count"] == 0


def test_passages(client: httpx.Client) -> None:
    task = client.get("/api/tasks", params={"unit": "县商务委", "plan": PLAN_ID}).json()["tasks"][0]
    r = client.get(f"/api/passages/{task['passage_id']}")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["plan_id"] == PLAN_ID and p["task_number"] == task["number"]
    assert p["text"] and p["section"] and p["plan_title"]
    assert_chinese_error(client.get("/api/passages/nope-123"), 404, "unknown_passage")


def test_static_widget_and_demo(client: httpx.Client) -> None:
    js = client.get("/widget.js")
    assert (
        js.status_code == 200
        and "javascript" in js.headers["content-type"]
        and len(js.content) > 100
    )
    demo = client.get("/demo")
    assert demo.status_code == 200 and demo.headers["content-type"].startswith("text/html")
    root = client.get("/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "/demo"


def test_docs_and_unknown_route(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/chat", "/api/chat/stream", "/v1/chat/completions", "/api/feedback"} <= set(paths)
    assert_chinese_error(client.get("/no/such/route"), 404, "not_found")
    assert_chinese_error(client.delete("/api/chat"), 405)
