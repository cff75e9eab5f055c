"""The service always answers: hostile inputs that used to be 5xx or hangs, readiness that
checks the vector store, reindex racing the start-up warm-up, per-client cost, and 60 chats
against a hanging model while /readyz stays quick. Real servers on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.http.server import create_app
from assistant.settings import load_settings
from tests.fakes.openai_server import FakeOpenAIServer

from .conftest import (
    IndexEnv,
    ServerProcess,
    _server,
    admin_headers,
    ask,
    free_port,
    parse_sse,
)
from .test_api import assert_chinese_error

pytestmark = pytest.mark.integration

SURROGATE = b'{"messages": [{"role": "user", "content": "\\ud800 \xe5\x95\x8a"}]}'


@pytest.mark.parametrize("path", ["/api/chat", "/api/chat/stream", "/v1/chat/completions"])
def test_lone_surrogate_is_a_clear_400(client: httpx.Client, path: str) -> None:
    r = client.post(path, content=SURROGATE, headers={"content-type": "application/json"})
    if path.startswith("/v1/"):
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_unicode"
        assert "Unicode" in r.json()["error"]["message"]
    else:
        assert_chinese_error(r, 400, "invalid_unicode")
    # a valid surrogate pair (an emoji) is still a question like any other
    ok = client.post("/api/chat", content=b'{"messages": [{"role": "user", "content": "\\ud83d\\ude00 \xe7\xac\xac3\xe9\xa1\xb9\xe7\x94\xb1\xe8\xb0\x81\xe7\x89\xb5\xe5\xa4\xb4\xef\xbc\x9f"}]}',
                     headers={"content-type": "application/json"})
    assert ok.status_code == 200, ok.text
    fb = client.post("/api/feedback", content=b'{"message_id": "m-\\udfff", "rating": "up"}',
                     headers={"content-type": "application/json"})
    assert_chinese_error(fb, 400, "invalid_unicode")


def test_chunked_body_crossing_the_limit_in_its_last_chunk(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # 255,000 bytes, then the last chunk crosses 256,000
        yield b'{"messages": [{"role": "user", "content": "' + b"a" * 254_950
        yield b"b" * 2_000 + b'"}]}'

    with httpx.Client(base_url=str(client.base_url), timeout=10) as c:  # a hang fails here
        r = c.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert_chinese_error(r, 413, "body_too_large")


def test_unknown_task_number_and_unknown_plan_are_clear(client: httpx.Client) -> None:
    for q, n in (("第999项由谁牵头？", "999"), ("第0项的责任单位是谁？", "0"), ("Who leads task 999?", "999")):
        body = client.post("/api/chat", json=ask(q)).json()
        assert body["answer"].strip() and n in body["answer"], body
    stream = client.post("/api/chat/stream", json=ask("第999项由谁牵头？"))
    text = "".join(json.loads(d)["text"] for n, d in parse_sse(stream.text) if n == "delta")
    assert "999" in text
    assert_chinese_error(client.get("/api/units", params={"plan": "nope"}), 404, "unknown_plan")
    assert client.get("/api/units", params={"plan": "shizhu-2022"}).status_code == 200


def test_issue_date_question_never_fails(client: httpx.Client) -> None:
    r = client.post("/api/chat", json={"messages": [{"role": "user", "content": "方案的印发日期是哪天？"}]})
    assert r.status_code == 200 and "印发" in r.json()["answer"]


def test_forwarded_for_is_not_trusted(limited_server: ServerProcess) -> None:
    """Burst 3: a client cannot get a fresh bucket by inventing X-Forwarded-For (no proxy is
    trusted unless ASSISTANT_TRUSTED_PROXIES lists it)."""
    with limited_server.client() as c:
        statuses = [
            c.get("/api/plans", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
            for i in range(5)
        ]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:], statuses


def test_long_question_costs_more(index_env: IndexEnv) -> None:
    s = _server(index_env, f"cost-{time.monotonic_ns()}", ASSISTANT_RATE_LIMIT_PER_MINUTE="6",
                ASSISTANT_RATE_LIMIT_BURST="4")
    try:
        with s.client() as c:
            long_q = "请问外资旅行社的设立条件和办理流程是什么，" * 90  # 1,890 chars ≈ 5.7 KB
            first = c.post("/api/chat", json=ask(long_q))
            assert first.status_code == 200
            r = c.get("/api/plans")  # 1 + 2 (5.7 KB / 2 KB) tokens spent of 4: one left
            assert r.status_code == 200
            assert_chinese_error(c.get("/api/plans"), 429, "rate_limited")
    finally:
        s.stop()


def test_readyz_and_chat_without_chroma(tmp_path: Path, index_env: IndexEnv) -> None:
    """Embedded Chroma removed, then corrupted: not ready, and chats are a clear 503."""
    for damage in ("removed", "corrupt"):
        index = tmp_path / damage / "index"
        shutil.copytree(index_env.index_dir, index)
        if damage == "removed":
            shutil.rmtree(index / "chroma")
        else:
            for f in (index / "chroma").rglob("*"):
                if f.is_file():
                    f.write_bytes(b"\0garbage" * 64)
        settings = load_settings({"ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_EMBED_MODE": "hash",
                                  "ASSISTANT_DATA_DIR": str(tmp_path / damage / "data")})
        with TestClient(create_app(settings), raise_server_exceptions=False) as c:
            ready = c.get("/readyz")
            assert ready.status_code == 503, (damage, ready.text)
            assert ready.json()["error"] in ("vector_store_unavailable", "index_unavailable")
            for r in (c.post("/api/chat", json=ask()), c.post("/api/chat/stream", json=ask())):
                assert r.status_code == 503, (damage, r.text)
            v1 = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "县商务委牵头哪些任务？"}]})
            assert v1.status_code == 503


def test_reindex_right_after_start(index_env: IndexEnv, tmp_path: Path) -> None:
    """POST /api/admin/reindex as soon as the port answers: it waits for the warm-up."""
    port = free_port()
    env = {**index_env.env, "ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        r = httpx.post(f"http://127.0.0.1:{port}/api/admin/reindex", headers=admin_headers(),
                       timeout=120)
        assert r.status_code == 200, r.text
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_sixty_chats_on_a_hanging_model_do_not_starve_readyz(index_env: IndexEnv) -> None:
    deadline_s = 4.0
    with FakeOpenAIServer() as fake:
        fake.script(reply="不会送达 [1]。", delay_s=120.0)
        s = _server(index_env, f"hang-{time.monotonic_ns()}", ASSISTANT_LLM_BASE_URL=fake.base_url,
                    ASSISTANT_LLM_DEADLINE_S=str(deadline_s), ASSISTANT_LLM_TIMEOUT_S="60")
        try:
            results: list[tuple[int, float]] = []

            def chat() -> None:
                started = time.monotonic()
                with s.client(timeout=120) as c:
                    r = c.post("/api/chat", json=ask())
                results.append((r.status_code, time.monotonic() - started))

            threads = [threading.Thread(target=chat) for _ in range(60)]
            for t in threads:
                t.start()
            time.sleep(0.5)  # the chats are in, the slots taken
            with s.client() as c:
                started = time.monotonic()
                ready = c.get("/readyz")
                ready_s = time.monotonic() - started
            for t in threads:
                t.join(timeout=150)
            assert ready.status_code == 200
            assert ready_s < deadline_s, ready_s  # answered before the LLM deadline fired
            assert len(results) == 60 and {code for code, _ in results} == {200}
            assert max(took for _, took in results) < 60, results  # nobody waited for the model
            print(f"\nreadyz under 60 hanging chats: {ready_s * 1000:.0f} ms; "
                  f"chat max {max(t for _, t in results):.1f} s")
        finally:
            s.stop()
