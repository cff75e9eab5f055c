"""The assistant as an OpenAI-compatible model: GET /v1/models, POST /v1/chat/completions
(JSON and streaming), so the official client and existing chat UIs work. Citations travel
both as an extra `citations` field and as a sources list appended to the text."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from .service import MODEL_ID, SSE_HEADERS, OpenAIRequest, Service, sources_text


def openai_router(svc: Service) -> APIRouter:
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
    ) -> dict[str, Any] | StreamingResponse:
        messages = [m.as_plain() for m in body.messages]
        plan_id = body.plan_id
        if plan_id is None and ":" in body.model:  # model "plan-assistant:<plan_id>" picks a plan
            candidate = body.model.split(":", 1)[1]
            plan_id = candidate if candidate in (await run_in_threadpool(svc.store)).plans else None
        await run_in_threadpool(svc.check, messages, plan_id)
        cid, created = "chatcmpl-" + uuid.uuid4().hex, int(time.time())
        if not body.stream:
            d = await run_in_threadpool(
                svc.answer, request, "/v1/chat/completions", cid, messages, plan_id
            )
            content = d["answer"] + sources_text(d["citations"])
            prompt_chars = sum(len(m["content"]) for m in messages)
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
                "usage": {
                    "prompt_tokens": prompt_chars,
                    "completion_tokens": len(content),
                    "total_tokens": prompt_chars + len(content),
                },
                "citations": d["citations"],
                "system_fingerprint": None,
            }
        events = await svc.stream(request, "/v1/chat/completions", cid, messages, plan_id)

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"

        async def frames() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            async for name, data in events:
                if name == "delta" and data.get("text"):
                    yield chunk({"content": data["text"]})
                elif name == "done":
                    if sources := sources_text(data["citations"]):
                        yield chunk({"content": sources})
                    yield chunk({}, "stop", citations=data["citations"])
                    yield "data: [DONE]\n\n"
                elif name == "error":
                    err = {
                        "message": data["message"],
                        "type": "server_error",
                        "code": data["error"],
                    }
                    yield f"data: {json.dumps({'error': err}, ensure_ascii=False)}\n\n"

        return StreamingResponse(frames(), media_type="text/event-stream", headers=SSE_HEADERS)

    return router
