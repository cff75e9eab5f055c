"""The HTTP service: JSON + SSE chat API, an OpenAI-compatible /v1, lookups, feedback,
admin reindex, the embeddable widget. Stateless: the client holds the conversation.

Nothing happens at import time; `create_app(settings)` builds everything. See docs/api.md.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware

from .feedback import FeedbackStore
from .guards import (
    ApiError,
    GuardMiddleware,
    JsonCORSMiddleware,
    RequestIdMiddleware,
    install_error_handlers,
)
from .settings import Settings, load_settings
from .store import IndexMissingError, IndexStore, StoreHolder

log = logging.getLogger("assistant.server")
STATIC_DIR = Path(__file__).resolve().parent / "static"
MODEL_ID = "plan-assistant"
SETTINGS_ENV = "PLAN_ASSISTANT_SETTINGS_JSON"  # run() → worker processes (keeps CLI overrides)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
STREAM_FAILED = "生成回答时出错，请稍后再试。"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant", "system"]
    content: StrictStr


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messages: list[ChatMessage]
    plan_id: StrictStr | None = Field(None, max_length=100)


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant", "system", "developer"]
    content: StrictStr | list[dict[str, Any]] | None = None

    def as_plain(self) -> dict[str, str]:
        content = self.content
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
        return {
            "role": "system" if self.role == "developer" else self.role,
            "content": content or "",
        }


class OpenAIRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: StrictStr = MODEL_ID
    messages: list[OpenAIMessage]
    stream: StrictBool = False
    plan_id: StrictStr | None = Field(None, max_length=100)  # extension (openai: extra_body)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message_id: StrictStr = Field(min_length=1, max_length=100)
    rating: Literal["up", "down"]
    comment: StrictStr | None = Field(None, max_length=2000)


def sources_text(citations: list[dict[str, Any]]) -> str:
    """The citations as plain text, appended to /v1 answers for chat UIs."""
    lines = []
    for c in citations:
        where = (
            f"第{c['task_number']}项"
            if c.get("task_number") is not None
            else (c.get("section") or "")
        )
        quote = c.get("quote") or ""
        quote = quote if len(quote) <= 200 else quote[:200] + "…"
        lines.append(f"[{c.get('marker')}] {c.get('plan_title', '')} {where}：{quote}")
    return "\n\n来源：\n" + "\n".join(lines) if lines else ""


class Service:
    """What the routes share: settings, the live index, the assistant, the SQLite log."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.holder = StoreHolder(settings)
        self.feedback = FeedbackStore(settings.data_dir)
        self._assistant: Any = None
        self._lock = threading.Lock()
        self._warm_lock = threading.Lock()
        self._warmed: set[str] = set()

    def assistant(self) -> Any:
        if self._assistant is None:
            with self._lock:
                if self._assistant is None:
                    from .answer import Assistant

                    self._assistant = Assistant(self.settings, holder=self.holder)
        return self._assistant

    def store(self, warm: bool = False) -> IndexStore:
        """The live index (503 if there is none); warm=True also opens its retrieval
        backends, once per generation under a lock: IndexStore opens them lazily and
        unlocked, and concurrent first queries raced inside chromadb's client set-up."""
        try:
            store = self.holder.get()
            if warm and store.generation not in self._warmed:
                with self._warm_lock:
                    if store.generation not in self._warmed:
                        store.embedder(), store.collection(), store.lexical()
                        self._warmed.add(store.generation)
            return store
        except IndexMissingError as exc:
            raise ApiError(
                503, "index_missing", "索引尚未建立，请管理员先运行 assistant ingest。"
            ) from exc
        except Exception as exc:
            log.exception("index failed to load")
            raise ApiError(503, "index_unavailable", "索引暂时无法加载，请稍后再试。") from exc

    def check(self, messages: list[dict[str, str]], plan_id: str | None) -> None:
        """The server's own limits, before the pipeline sees anything."""
        s = self.settings
        store = self.store(warm=True)  # 503 now rather than a failure inside the pipeline
        if not messages:
            raise ApiError(422, "empty_message", "消息列表为空，请输入问题。")
        if len(messages) > s.max_history_messages:
            raise ApiError(
                422,
                "too_many_messages",
                f"对话过长（{len(messages)} 条消息，上限 {s.max_history_messages} 条），"
                "请开始新对话。",
            )
        for m in messages:
            if len(m["content"]) > s.max_message_chars:
                raise ApiError(
                    422, "message_too_long", f"单条消息不能超过 {s.max_message_chars} 个字符。"
                )
        if messages[-1]["role"] != "user":
            raise ApiError(422, "last_not_user", "最后一条消息应当是用户的问题。")
        if not messages[-1]["content"].strip():
            raise ApiError(422, "empty_message", "问题不能为空。")
        if plan_id is not None and plan_id not in store.plans:
            raise ApiError(404, "unknown_plan", f"没有编号为“{plan_id}”的方案。")

    def log(
        self,
        request: Request,
        endpoint: str,
        message_id: str,
        messages: list[dict[str, str]],
        plan_id: str | None,
        answer: dict[str, Any] | None,
        started: float,
    ) -> None:
        self.feedback.log_conversation(
            message_id=message_id,
            request_id=request.scope.get("state", {}).get("request_id"),
            endpoint=endpoint,
            plan_id=plan_id,
            messages=messages,
            answer=answer,
            status=answer["status"] if answer else "error",
            intent=answer.get("intent") if answer else None,
            latency_ms=int((time.perf_counter() - started) * 1000),
            client=request.client.host if request.client else None,
        )

    def answer(
        self,
        request: Request,
        endpoint: str,
        message_id: str,
        messages: list[dict[str, str]],
        plan_id: str | None,
    ) -> dict[str, Any]:
        """Run the pipeline, log the conversation (committed), return the answer dict."""
        from .answer import InputError

        started = time.perf_counter()
        try:
            result = self.assistant().answer(messages, plan_id=plan_id).to_dict()
        except InputError as exc:
            raise ApiError(404 if exc.code == "unknown_plan" else 422, exc.code, str(exc)) from exc
        except IndexMissingError:
            self.store()  # raises the 503
            raise
        except Exception:  # logged (with the traceback) by GuardMiddleware, answered as a JSON 500
            self.log(request, endpoint, message_id, messages, plan_id, None, started)
            raise
        self.log(request, endpoint, message_id, messages, plan_id, result, started)
        return result

    async def stream(
        self,
        request: Request,
        endpoint: str,
        message_id: str,
        messages: list[dict[str, str]],
        plan_id: str | None,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Events with message_id added to meta and done. The first event is pulled before
        returning, so bad input is an HTTP 4xx, not an event; later failures are `error` events."""
        from .answer import InputError

        started = time.perf_counter()
        gen = self.assistant().stream(messages, plan_id=plan_id)
        try:
            first = await run_in_threadpool(next, gen, None)
        except InputError as exc:
            raise ApiError(404 if exc.code == "unknown_plan" else 422, exc.code, str(exc)) from exc
        except IndexMissingError:
            self.store()  # raises the 503
            raise
        except Exception:
            await run_in_threadpool(
                self.log, request, endpoint, message_id, messages, plan_id, None, started
            )
            raise

        async def events() -> AsyncIterator[tuple[str, dict[str, Any]]]:
            event = first
            try:
                while event is not None:
                    name, data = event
                    if name in ("meta", "done"):
                        data = {**data, "message_id": message_id}
                    if name == "done":
                        await run_in_threadpool(
                            self.log,
                            request,
                            endpoint,
                            message_id,
                            messages,
                            plan_id,
                            data,
                            started,
                        )
                    yield name, data
                    if name == "done":
                        return
                    event = await run_in_threadpool(next, gen, None)
                raise RuntimeError("the answer stream ended without a done event")
            except Exception:
                log.exception("answer stream failed (%s)", message_id)
                await run_in_threadpool(
                    self.log, request, endpoint, message_id, messages, plan_id, None, started
                )
                yield "error", {"error": "internal_error", "message": STREAM_FAILED}
            finally:
                gen.close()

        return events()


def create_app(settings: Settings) -> FastAPI:
    svc = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # warm the index in the background so that /readyz and the first question are quick
        threading.Thread(target=lambda: _quietly(lambda: svc.store(warm=True)), daemon=True).start()
        yield

    app = FastAPI(
        title="实施方案政策助手 API",
        version="0.1.0",
        lifespan=lifespan,
        description="基于县级实施方案的问答服务；文档见 docs/api.md。",
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(
                JsonCORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Content-Type", "Authorization", "X-Request-ID"],
                expose_headers=["X-Request-ID", "Retry-After"],
                max_age=600,
            ),
            Middleware(
                GuardMiddleware,
                max_body_bytes=settings.max_body_bytes,
                per_minute=settings.rate_limit_per_minute,
                burst=settings.rate_limit_burst,
            ),
        ],
    )
    app.state.service = svc
    install_error_handlers(app)

    def admin(request: Request) -> None:
        token = settings.admin_token
        if not token:
            raise ApiError(
                403, "admin_disabled", "未配置管理令牌（ASSISTANT_ADMIN_TOKEN），管理接口已停用。"
            )
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            value.strip().encode(), token.encode()
        ):
            raise ApiError(403, "forbidden", "管理令牌无效。")

    # ---- chat
    @app.post("/api/chat", tags=["chat"], summary="提问（一次返回完整回答）")
    def chat(body: ChatRequest, request: Request) -> dict[str, Any]:
        messages = [m.model_dump() for m in body.messages]
        svc.check(messages, body.plan_id)
        mid = "m-" + uuid.uuid4().hex
        return {**svc.answer(request, "/api/chat", mid, messages, body.plan_id), "message_id": mid}

    @app.post(
        "/api/chat/stream", tags=["chat"], summary="提问（SSE 流式：meta、delta…、citations、done）"
    )
    async def chat_stream(body: ChatRequest, request: Request) -> StreamingResponse:
        messages = [m.model_dump() for m in body.messages]
        await run_in_threadpool(svc.check, messages, body.plan_id)
        mid = "m-" + uuid.uuid4().hex
        events = await svc.stream(request, "/api/chat/stream", mid, messages, body.plan_id)

        async def frames() -> AsyncIterator[str]:
            async for name, data in events:
                yield f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

        return StreamingResponse(frames(), media_type="text/event-stream", headers=SSE_HEADERS)

    # ---- OpenAI-compatible
    @app.get("/v1/models", tags=["openai"])
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

    @app.post("/v1/chat/completions", tags=["openai"], response_model=None)
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

    # ---- lookups
    def plan_info(store: IndexStore, pid: str) -> dict[str, Any]:
        return {**asdict(store.plans[pid]), "task_count": len(store.plan_tasks(pid))}

    @app.get("/api/plans", tags=["lookup"])
    def plans() -> dict[str, Any]:
        store = svc.store()
        return {"plans": [plan_info(store, pid) for pid in store.plans]}

    @app.get("/api/plans/{plan_id}", tags=["lookup"])
    def plan(plan_id: str) -> dict[str, Any]:
        store = svc.store()
        if plan_id not in store.plans:
            raise ApiError(404, "unknown_plan", f"没有编号为“{plan_id}”的方案。")
        return {
            **plan_info(store, plan_id),
            "suggestions": svc.assistant().suggestions_for(plan_id),
        }

    @app.get("/api/tasks", tags=["lookup"], summary="某单位牵头/负责的全部任务（完整列表）")
    def tasks(
        unit: str = Query(min_length=1, max_length=100),
        plan: str | None = Query(None, max_length=100),
        role: Literal["lead", "responsible", "any"] = "any",
    ) -> dict[str, Any]:
        store = svc.store()
        if plan and plan not in store.plans:
            raise ApiError(404, "unknown_plan", f"没有编号为“{plan}”的方案。")
        units = store.resolve_unit(unit.strip(), plan or None)
        if not units:
            raise ApiError(
                404, "unknown_unit", f"没有找到单位“{unit}”，可用 /api/units?q= 查询单位名称。"
            )
        found = []
        for u in units:
            found += [t for t in store.tasks_for_unit(u.name, plan or None, role) if t not in found]
        found.sort(key=lambda t: (t.plan_id, t.number))
        passages = {
            (c.plan_id, c.task_number): cid for cid, c in store.chunks.items() if c.kind == "task"
        }
        rows = [
            {
                **asdict(t),
                "id": t.id,
                "plan_title": store.plans[t.plan_id].title,
                "section": " / ".join(t.section_path),
                "quote": t.quote(),
                "passage_id": passages.get((t.plan_id, t.number)),
            }
            for t in found
        ]
        names = [u.name for u in units]
        return {
            "unit": unit,
            "units": names,
            "plan": plan or None,
            "role": role,
            "count": len(found),
            "tasks": rows,
        }

    @app.get("/api/units", tags=["lookup"], summary="单位名称/简称解析")
    def units(
        q: str | None = Query(None, max_length=100), plan: str | None = Query(None, max_length=100)
    ) -> dict[str, Any]:
        store = svc.store()
        found = (
            store.resolve_unit(q.strip(), plan or None)
            if q and q.strip()
            else list(store.registry.units.values())
        )
        return {"query": q, "count": len(found), "units": [asdict(u) for u in found]}

    @app.get("/api/passages/{passage_id}", tags=["lookup"])
    def passage(passage_id: str) -> dict[str, Any]:
        store = svc.store()
        c = store.passage(passage_id)
        if c is None:
            raise ApiError(404, "unknown_passage", f"没有编号为“{passage_id}”的原文片段。")
        fields = {k: v for k, v in asdict(c).items() if k != "embed_text"}
        title = store.plans[c.plan_id].title
        return {
            "id": passage_id,
            **fields,
            "plan_title": title,
            "section": " / ".join(c.section_path),
        }

    # ---- feedback
    @app.post("/api/feedback", tags=["feedback"])
    def feedback(body: FeedbackRequest, request: Request) -> dict[str, Any]:
        mid = body.message_id.strip()
        if not mid:
            raise ApiError(422, "invalid_request", "message_id 不能为空。")
        svc.feedback.add_feedback(
            mid, body.rating, body.comment, request.client.host if request.client else None
        )
        return {"ok": True}

    @app.get("/api/feedback/{message_id}", tags=["admin"], dependencies=[Depends(admin)])
    def feedback_read(message_id: str) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "feedback": svc.feedback.feedback_for(message_id),
            "conversation": svc.feedback.conversation(message_id),
        }

    @app.post("/api/admin/reindex", tags=["admin"], dependencies=[Depends(admin)])
    def reindex() -> dict[str, Any]:
        from .index import build_index

        try:
            summary = build_index(settings)
        except Exception as exc:
            log.exception("reindex failed")
            raise ApiError(500, "reindex_failed", f"重建索引失败：{exc}") from exc
        _quietly(
            lambda: svc.store(warm=True)
        )  # open the new generation now, not on the next question
        return {**asdict(summary), "message": summary.line()}

    # ---- health
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> dict[str, Any]:
        store = svc.store()
        return {"status": "ready", "generation": store.generation, "plans": len(store.plans)}

    # ---- widget
    def static(name: str, media_type: str, headers: dict[str, str]) -> FileResponse:
        path = STATIC_DIR / name
        if not path.is_file():
            raise ApiError(404, "not_found", f"找不到 {name}。")
        return FileResponse(
            path, media_type=media_type, headers={"Cache-Control": "no-cache", **headers}
        )

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> FileResponse:
        return static(
            "widget.js",
            "text/javascript; charset=utf-8",
            {"Cross-Origin-Resource-Policy": "cross-origin"},
        )

    @app.get("/demo", include_in_schema=False)
    def demo() -> FileResponse:
        return static("demo.html", "text/html; charset=utf-8", {})

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/demo", status_code=307)

    return app


def _quietly(fn: Any) -> None:
    try:
        fn()
    except Exception as exc:  # readiness reports it; nothing to do here
        log.warning("index not loaded: %s", exc)


def _setup_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def app_factory() -> FastAPI:
    """For `uvicorn --factory` and multi-worker runs."""
    _setup_logging()
    raw = os.environ.get(SETTINGS_ENV)
    return create_app(Settings.model_validate_json(raw) if raw else load_settings())


def run(settings: Settings) -> None:
    import uvicorn

    _setup_logging()
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers > 1:
        os.environ[SETTINGS_ENV] = settings.model_dump_json()
        uvicorn.run(
            "assistant.server:app_factory", factory=True, workers=settings.workers, **common
        )
    else:
        uvicorn.run(create_app(settings), **common)
