"""One answer object everywhere: `assistant ask --json`, POST /api/chat, the SSE `done`
event and /v1's `citations` carry the same fields and values for the same question."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from .conftest import PLAN_ID, IndexEnv, ServerProcess, ask, parse_sse

pytestmark = pytest.mark.integration

QUESTIONS = ["县商务委牵头哪些任务？", "外资旅行社由谁牵头？", "方案的目标是什么？"]


def cli_answer(index_env: IndexEnv, question: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", question, "--plan", PLAN_ID, "--json"],
        env=index_env.env,
        cwd=index_env.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout))


def without_id(d: dict[str, Any]) -> dict[str, Any]:
    assert str(d["message_id"]).startswith("m-")
    return {k: v for k, v in d.items() if k != "message_id"}


@pytest.mark.parametrize("question", QUESTIONS)
def test_cli_http_sse_and_v1_agree(
    question: str, index_env: IndexEnv, server: ServerProcess, client: httpx.Client
) -> None:
    cli = cli_answer(index_env, question)
    api = client.post("/api/chat", json=ask(question)).json()
    with client.stream("POST", "/api/chat/stream", json=ask(question)) as r:
        events = parse_sse(r.read().decode("utf-8"))
    done = json.loads(events[-1][1])
    assert events[-1][0] == "done"
    v1 = client.post(
        "/v1/chat/completions",
        json={
            "model": f"plan-assistant:{PLAN_ID}",
            "messages": [{"role": "user", "content": question}],
        },
    ).json()

    assert set(cli) == set(api) == set(done)
    assert {"answer", "status", "intent", "citations", "plan_ids", "message_id", "mode"} <= set(cli)
    assert without_id(cli) == without_id(api) == without_id(done)
    assert v1["citations"] == api["citations"]
    assert v1["choices"][0]["message"]["content"].startswith(api["answer"])
