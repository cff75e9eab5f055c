"""/v1: the assistant as an OpenAI-compatible model, driven by the official client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from .conftest import PLAN_ID, QUESTION, ServerProcess

pytestmark = pytest.mark.integration


def oai(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=30)


def test_models(server: ServerProcess) -> None:
    ids = [m.id for m in oai(server).models.list()]
    assert "plan-assistant" in ids and f"plan-assistant:{PLAN_ID}" in ids


def test_sync_completion(server: ServerProcess, client: httpx.Client) -> None:
    resp = oai(server).chat.completions.create(
        model="plan-assistant",
        messages=[{"role": "user", "content": QUESTION}],
        extra_body={"plan_id": PLAN_ID},
    )
    assert resp.object == "chat.completion" and resp.id
    choice = resp.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    plain = client.post(
        "/api/chat", json={"messages": [{"role": "user", "content": QUESTION}], "plan_id": PLAN_ID}
    ).json()
    content = choice.message.content or ""
    assert content.startswith(plain["answer"])
    assert "\n\n来源：\n[1] 石柱县" in content and "第" in content.split("来源：")[1]
    citations = resp.to_dict()["citations"]
    assert citations == plain["citations"]


def test_unknown_models_are_404_model_not_found(server: ServerProcess) -> None:
    client = oai(server)
    for model in ("gpt-4", "plan-assistant:nope", "plan-assistant:", "Plan-Assistant"):
        with pytest.raises(openai.NotFoundError) as err:
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": QUESTION}]
            )
        assert err.value.code == "model_not_found", model
        body: Any = err.value.body
        assert body["type"] == "invalid_request_error" and body["param"] == "model"
        assert model in body["message"] and "/v1/models" in body["message"]


def test_plan_in_model_name(server: ServerProcess) -> None:
    b = oai(server).chat.completions.create(
        model=f"plan-assistant:{PLAN_ID}", messages=[{"role": "user", "content": QUESTION}]
    )
    assert b.model == f"plan-assistant:{PLAN_ID}"
    assert "垫江" not in (b.choices[0].message.content or "").split("来源：")[0]


def test_streaming_completion(server: ServerProcess) -> None:
    client = oai(server)
    messages: Any = [
        {"role": "system", "content": "你是政策助手。"},
        {"role": "user", "content": QUESTION},
    ]
    full = client.chat.completions.create(
        model="plan-assistant", messages=messages, extra_body={"plan_id": PLAN_ID}
    )
    chunks = list(
        client.chat.completions.create(
            model="plan-assistant", messages=messages, stream=True, extra_body={"plan_id": PLAN_ID}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == full.choices[0].message.content
    assert "来源：" in text


def test_raw_stream_framing(server: ServerProcess) -> None:
    body = {
        "model": "plan-assistant",
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    frames = [f for f in raw.split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames)
    assert frames[-1] == "data: [DONE]"
    assert json.loads(frames[-2][6:])["choices"][0]["finish_reason"] == "stop"


def test_errors_in_openai_shape(server: ServerProcess) -> None:
    client = oai(server)
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.chat.completions.create(
            model="plan-assistant", messages=[{"role": "user", "content": ""}]
        )
    assert err.value.code == "empty_message"
    r = httpx.post(f"{server.url}/v1/chat/completions", json={"model": "x", "messages": "hi"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert {"message", "type", "code"} <= set(error) and error["type"] == "invalid_request_error"
    r = httpx.post(
        f"{server.url}/v1/chat/completions",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
