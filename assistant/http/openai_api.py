"""The assistant as an OpenAI-compatible model: GET /v1/models, POST /v1/chat/completions
(JSON and streaming), so the official client, chat UIs and agent frameworks work unchanged.

What clients send is accepted as the protocol allows: content-part arrays, `developer`
and `tool` messages (neither read as a question nor trusted as a source), and
`stream_options.include_usage`. An unknown model is a 404 `model_not_found`, as OpenAI
answers it. `usage` counts tokens with tiktoken's cl100k_base, read from the copy that
ships inside llama-index (no download). Citations travel both as an extra `citations`
field and as a sources list appended to the text.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from ..settings import prepare_offline_runtime
from .guards import ApiError
from .service import MODEL_ID, OpenAIRequest, Service, sources_text
from .sse import event, sse_response


def count_tokens(texts: Iterable[str]) -> int:
    from ..ingest.chunk import count_tokens as count

    return sum(count(t) for t in texts if t)


def usage(prompt: list[dict[str, str]], completion: str) -> dict[str, int]:
    p = count_tokens(m["content"] for m in prompt)
    c = count_tokens([completion])
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def model_plan(model: str, plans: Iterable[str]) -> str | None:
    """The plan a model name selects (None: all plans); unknown names are a 404."""
    plans = list(plans)
    if model == MODEL_ID:
        return None
    head, _, plan = model.partition(":")
    if head == MODEL_ID and plan in plans:
        return plan
    known = "、".join([MODEL_ID, *(f"{MODEL_ID}:{p}" for p in plans)])
    raise ApiError(
        404, "model_not_found", f"模型“{model}”不存在。可用的模型：{known}（见 GET /v1/models）。"
    )


def openai_router(svc: Service) -> APIRouter:
    prepare_offline_runtime(svc.settings)  # tiktoken reads the bundled cl100k_base, offline
    router = APIRouter()

    @router.get("/v1/models", tags=["openai"])
    def models() -> dict[str, Any]:
        try:
            plans = list(svc.holder.get().plans)
        except Exception:
            plans = []
        ids = [MODEL_ID, *(f"{MODEL_ID}:{p}" for p in plans)]
        return {
            "object": "list",
            "data": [{"id": i, "object": "model", "created": 0, "owned_by": MODEL_ID} for i in ids],
        }

    @router.post("/v1/chat/completions", tags=["openai"], response_model=None)
    async def completions(
        body: OpenAIRequest, request: Request
    ) -> dict[str, Any] | EventSourceResponse:
        messages = [m for m in (x.as_plain() for x in body.messages) if m is not None]
        store = await run_in_threadpool(svc.store)
        plan_id = model_plan(body.model, store.plans)
        if body.plan_id is not None:  # the extension field wins over the model suffix
            plan_id = body.plan_id
        await run_in_threadpool(svc.check, messages, plan_id)
        cid, created = "chatcmpl-" + uuid.uuid4().hex, int(time.time())
        if not body.stream:
            d = await run_in_threadpool(
                svc.answer, request, "/v1/chat/completions", cid, messages, plan_id
            )
            content = d["answer"] + sources_text(d["citations"])
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": body.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": await run_in_threadpool(usage, messages, content),
                "citations": d["citations"],
                "system_fingerprint": None,
            }
        events = await svc.stream(request, "/v1/chat/completions", cid, messages, plan_id)
        with_usage = bool(body.stream_options and body.stream_options.include_usage)

        def chunk(
            delta: dict[str, Any] | None, finish: str | None = None, **extra: Any
        ) -> ServerSentEvent:
            choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
                "choices": choices,
                **({"usage": None} if with_usage else {}),
                **extra,
            }
            return event(None, obj)

        async def frames() -> AsyncIterator[ServerSentEvent]:
            yield chunk({"role": "assistant", "content": ""})
            sent = ""
            async for name, data in events:
                if name == "delta" and data.get("text"):
                    sent += data["text"]
                    yield chunk({"content": data["text"]})
                elif name == "done":
                    if sources := sources_text(data["citations"]):
                        sent += sources
                        yield chunk({"content": sources})
                    yield chunk({}, "stop", citations=data["citations"])
                    if with_usage:
                        yield chunk(None, usage=await run_in_threadpool(usage, messages, sent))
                    yield event(None, "[DONE]")
                elif name == "error":
                    err = {
                        "message": data["message"],
                        "type": "server_error",
                        "code": data["error"],
                    }
                    yield event(None, {"error": err})

        return sse_response(frames())

    return router
