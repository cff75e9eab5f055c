"""Real streaming in LLM mode: each verified sentence is sent while the model is still
writing. The fake OpenAI server (tests/fakes) holds its reply after the first sentence
until the test has read that sentence from /api/chat/stream; a server that waited for the
whole reply would leave the fake holding, and `released` would be False."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.openai_server import FakeOpenAIServer

from .conftest import PLAN_ID, IndexEnv, ServerProcess, _server, ask

pytestmark = [pytest.mark.integration, pytest.mark.slow]
QUESTION = "外资旅行社由谁牵头？"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as f:
        yield f


@pytest.fixture(scope="module")
def llm_server(index_env: IndexEnv, fake: FakeOpenAIServer) -> Iterator[ServerProcess]:
    s = _server(
        index_env,
        "llm",
        ASSISTANT_LLM_BASE_URL=fake.base_url,
        ASSISTANT_LLM_MODEL="fake-chat",
        ASSISTANT_LLM_TIMEOUT_S="60",
    )
    try:
        yield s
    finally:
        s.stop()


def events(r: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    name, data = "message", []
    for line in r.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            yield name, json.loads("\n".join(data))
            name, data = "message", []


def lead_unit(client: httpx.Client) -> str:
    extractive = client.post("/api/chat", json=ask(QUESTION)).json()
    assert extractive["mode"] == "extractive" and extractive["citations"][0]["lead"]
    return str(extractive["citations"][0]["lead"][0])


def test_first_verified_sentence_arrives_before_the_model_finishes(
    llm_server: ServerProcess, fake: FakeOpenAIServer, client: httpx.Client
) -> None:
    lead = lead_unit(client)
    first = f"外资旅行社的任务由{lead}牵头 [1]。"
    # the second sentence restates the cited task's own words (the verifier keeps only
    # what the source supports)
    quote = client.post("/api/chat", json=ask(QUESTION)).json()["citations"][0]["quote"]
    clause = re.split(r"[，。；]", quote)[0]
    gate = threading.Event()
    script = fake.script(
        reply="",
        deltas=["外资旅行社的任务", f"由{lead}牵头 [1]。", f"\n{clause[:4]}", f"{clause[4:]} [1]。"],
        hold=gate,
        hold_after=2,
    )
    seen: list[tuple[str, dict[str, Any]]] = []
    with (
        llm_server.client(timeout=90) as c,
        c.stream("POST", "/api/chat/stream", json=ask(QUESTION)) as r,
    ):
        assert r.status_code == 200
        for name, data in events(r):
            if name == "delta" and not gate.is_set():
                assert data["text"] == first  # only what the model has written so far
                gate.set()
            seen.append((name, data))
    assert script.released is True, "the first sentence was not sent while the model was writing"
    names = [n for n, _ in seen]
    assert names[0] == "meta" and names[-1] == "done"
    done = seen[-1][1]
    assert done["mode"] == "llm" and done["notice"] == ""
    text = "".join(d["text"] for n, d in seen if n == "delta")
    assert text == done["answer"] == first + f"\n{clause} [1]。"


def test_unverifiable_sentence_is_dropped_while_streaming(
    llm_server: ServerProcess, fake: FakeOpenAIServer, client: httpx.Client
) -> None:
    lead = lead_unit(client)
    extractive = client.post("/api/chat", json=ask(QUESTION)).json()
    cited = json.dumps(extractive["citations"], ensure_ascii=False)
    wrong = "县教委"
    assert wrong not in cited, "precondition: the sources do not name this unit"
    fake.script(
        reply="",
        deltas=[
            f"外资旅行社的任务由{lead}牵头 [1]。",
            f"\n{wrong}负责审批 [1]。",
            "\n请以原文为准 [1]。",
        ],
    )
    with (
        llm_server.client(timeout=90) as c,
        c.stream("POST", "/api/chat/stream", json=ask(QUESTION)) as r,
    ):
        seen = list(events(r))
    done = seen[-1][1]
    text = "".join(d["text"] for n, d in seen if n == "delta")
    assert wrong not in text and text == done["answer"]
    assert lead in text and "请以原文为准" in text
    assert done["mode"] == "llm" and done["notice"]  # the user is told something was removed


def test_reply_without_citable_sentence_streams_the_extractive_answer(
    llm_server: ServerProcess, fake: FakeOpenAIServer, client: httpx.Client
) -> None:
    extractive = client.post("/api/chat", json=ask(QUESTION, PLAN_ID)).json()
    fake.script(reply="这是一句没有出处的话。")
    with (
        llm_server.client(timeout=90) as c,
        c.stream("POST", "/api/chat/stream", json=ask(QUESTION, PLAN_ID)) as r,
    ):
        seen = list(events(r))
    done = seen[-1][1]
    assert done["mode"] == "extractive" and done["notice"]
    assert (
        "".join(d["text"] for n, d in seen if n == "delta")
        == done["answer"]
        == extractive["answer"]
    )
