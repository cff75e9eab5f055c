"""The HTTP service: JSON + SSE chat API, an OpenAI-compatible /v1, lookups, feedback,
admin reindex, the embeddable widget. Stateless: the client holds the conversation.

Nothing happens at import time; `create_app(settings)` builds everything. See docs/api.md.
"""

from __future__ import annotations

import html
import json
import logging
import os
import secrets
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi_offline import FastAPIOffline
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware

from ..retrieval import duties as D
from ..retrieval.store import IndexStore
from ..settings import Settings, load_settings
from .guards import (
    ApiError,
    GuardMiddleware,
    JsonCORSMiddleware,
    RequestIdMiddleware,
    install_error_handlers,
)
from .openai_api import openai_router
from .service import STREAM_FAILED, ChatRequest, FeedbackRequest, Service
from .sse import event, sse_response

log = logging.getLogger("assistant.server")
STATIC_DIR = Path(__file__).resolve().parent / "static"
SETTINGS_ENV = "PLAN_ASSISTANT_SETTINGS_JSON"  # run() → worker processes (keeps CLI overrides)
ALLOWED_ORIGINS_SLOT = "/*ALLOWED_ORIGINS*/null"  # in widget.js; replaced when it is served


def create_app(settings: Settings) -> FastAPI:
    svc = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # warm the index in the background so that /readyz and the first question are quick;
        # under the index lock, so that an admin reindex right after start waits for it
        def warm() -> None:
            with svc.index_lock:
                _quietly(lambda: svc.store(warm=True))

        threading.Thread(target=warm, daemon=True).start()
        yield

    # /docs loads Swagger UI from files inside the fastapi-offline package, not from a CDN:
    # it works on a machine without internet access. No /redoc: the ReDoc bundle still
    # fetches its logo from a CDN.
    app = FastAPIOffline(
        redoc_url=None,
        favicon_url="/favicon.ico",
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
                expose_headers=["X-Request-ID", "Retry-After", "Content-Disposition"],
                max_age=600,
            ),
            Middleware(
                GuardMiddleware,
                max_body_bytes=settings.max_body_bytes,
                per_minute=settings.rate_limit_per_minute,
                burst=settings.rate_limit_burst,
                cost_bytes=settings.rate_limit_cost_bytes,
                ratelimit_url=settings.ratelimit_url,
            ),
        ],
    )
    app.state.service = svc
    install_error_handlers(app)
    health_limiter = anyio.CapacityLimiter(2)

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
    async def chat_stream(body: ChatRequest, request: Request) -> EventSourceResponse:
        messages = [m.model_dump() for m in body.messages]
        await run_in_threadpool(svc.check, messages, body.plan_id)
        mid = "m-" + uuid.uuid4().hex
        events = await svc.stream(request, "/api/chat/stream", mid, messages, body.plan_id)

        async def frames() -> AsyncIterator[ServerSentEvent]:
            async for name, data in events:
                try:
                    frame = event(name, data)
                    str(frame.data).encode("utf-8")
                except (TypeError, ValueError) as exc:  # never a stream cut off without a word
                    log.error("unserialisable %s event (%s): %s", name, mid, exc)
                    yield event("error", {"error": "internal_error", "message": STREAM_FAILED})
                    return
                yield frame

        return sse_response(frames())

    app.include_router(openai_router(svc))

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

    @app.get(
        "/api/tasks",
        tags=["lookup"],
        summary="某单位牵头/负责的全部任务（完整列表；format=csv|xlsx 下载清单文件）",
        response_model=None,
    )
    def tasks(
        unit: str = Query(min_length=1, max_length=100),
        plan: str | None = Query(None, max_length=100),
        role: Literal["lead", "responsible", "any"] = "any",
        format: Literal["json", "csv", "xlsx", "md"] = "json",
    ) -> dict[str, Any] | Response:
        store = svc.store()
        if plan and plan not in store.plans:
            raise ApiError(404, "unknown_plan", f"没有编号为“{plan}”的方案。")
        duties = D.find_duties(store, unit, plan or None, role)
        if duties is None:
            raise ApiError(
                404, "unknown_unit", f"没有找到单位“{unit}”，可用 /api/units?q= 查询单位名称。"
            )
        if format != "json":
            name = D.filename(duties, format)
            return Response(
                D.export(store, duties, format),
                media_type=D.MEDIA_TYPES[format],
                headers={
                    "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                    "Cache-Control": "no-cache",
                },
            )
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
            for t in duties.tasks
        ]
        return {
            "unit": unit,
            "units": list(duties.units),
            "plan": plan or None,
            "role": role,
            "count": len(rows),
            "tasks": rows,
        }

    @app.get("/api/units", tags=["lookup"], summary="单位名称/简称解析")
    def units(
        q: str | None = Query(None, max_length=100), plan: str | None = Query(None, max_length=100)
    ) -> dict[str, Any]:
        store = svc.store()
        if plan and plan not in store.plans:
            raise ApiError(404, "unknown_plan", f"没有编号为“{plan}”的方案。")
        found = (
            store.resolve_unit(q.strip(), plan or None)
            if q and q.strip()
            else list(store.registry.scoped.values())
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
        if not svc.feedback.has_message(mid):
            raise ApiError(
                404, "unknown_message", "没有这条回答的记录（message_id 无效），反馈未保存。"
            )
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
        from ..ingest.index import IngestError, build_index

        with svc.index_lock:  # one at a time, and never while the start-up warm-up runs
            try:
                summary = build_index(settings)
            except IngestError as exc:  # the corpus is refused; the serving index stays as it was
                raise ApiError(
                    422, "ingest_rejected", f"重建索引被拒绝，在用索引未改动：{exc}"
                ) from exc
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
    async def readyz() -> dict[str, Any]:
        # its own thread limiter: answers that fill the shared pool never delay the probe
        return await anyio.to_thread.run_sync(svc.ready, limiter=health_limiter)

    # ---- widget
    def static(name: str, media_type: str, headers: dict[str, str]) -> FileResponse:
        path = STATIC_DIR / name
        if not path.is_file():
            raise ApiError(404, "not_found", f"找不到 {name}。")
        return FileResponse(
            path, media_type=media_type, headers={"Cache-Control": "no-cache", **headers}
        )

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        """widget.js with the CORS allow-list filled in, so that on a page whose origin is
        not allowed the widget says so instead of failing with a network error."""
        code = (STATIC_DIR / "widget.js").read_text("utf-8")
        allowed = json.dumps(list(settings.cors_origins), ensure_ascii=False)
        code = code.replace(ALLOWED_ORIGINS_SLOT, allowed.replace("</", "<\\/"), 1)
        return Response(
            code,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache", "Cross-Origin-Resource-Policy": "cross-origin"},
        )

    @app.get("/demo", include_in_schema=False)
    def demo(lang: str = "zh", plan: str = "") -> HTMLResponse:
        """A stand-in government page for the first plan of the index, with the widget on it
        (one script tag, as an integrator adds it). ?lang=en: the widget in English;
        ?plan=all: answers from every plan."""
        page = (STATIC_DIR / "demo.html").read_text("utf-8")
        lang = "en" if lang == "en" else "zh"
        try:
            store = svc.store()
            first = next(iter(store.plans.values()))
            tasks = store.plan_tasks(first.id)
            example = f"第{tasks[0].number}项由谁牵头？" if tasks else "方案的目标是什么？"
            pinned = "" if plan == "all" else (plan if plan in store.plans else first.id)
            values = {"issuer": first.issuer, "title": first.title, "issued": str(first.issued or ""),
                      "plan_id": pinned, "example": example}
        except Exception:  # no index yet: the page still loads, the widget says what is wrong
            values = {"issuer": "政策助手", "title": "", "issued": "", "plan_id": "", "example": ""}
        values |= {"lang": lang, "widget_title": "Policy assistant" if lang == "en" else "政策助手"}
        for key, value in values.items():
            page = page.replace("{{" + key + "}}", html.escape(value, quote=True))
        return HTMLResponse(page)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return static("favicon.svg", "image/svg+xml", {"Cache-Control": "public, max-age=86400"})

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


def banner(settings: Settings) -> str:
    """Where to go once the server is up (printed at start-up)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    base = f"http://{host}:{settings.port}"
    limit = f"{settings.rate_limit_burst} 次突发、之后每分钟 {settings.rate_limit_per_minute} 次"
    return "\n".join(
        [
            f"政策助手服务启动于 {base}（监听 {settings.host}:{settings.port}，Ctrl+C 停止）",
            f"  挂件演示页    {base}/demo",
            f"  接口文档      {base}/docs（离线可用）",
            f"  OpenAI 兼容   {base}/v1（模型列表 {base}/v1/models）",
            f"  网页挂件      {base}/widget.js",
            f"  频率限制      每个客户端 IP {limit}（ASSISTANT_RATE_LIMIT_BURST / _PER_MINUTE）",
        ]
    )


def run(settings: Settings) -> None:
    import uvicorn

    _setup_logging()
    print(banner(settings), file=sys.stderr, flush=True)
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        # X-Forwarded-For is believed only from the proxies listed (default: none), so that
        # a client cannot pick its own rate-limit key by sending the header
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or None,
    }
    if settings.workers > 1:
        os.environ[SETTINGS_ENV] = settings.model_dump_json()
        uvicorn.run(
            "assistant.http.server:app_factory", factory=True, workers=settings.workers, **common
        )
    else:
        uvicorn.run(create_app(settings), **common)
