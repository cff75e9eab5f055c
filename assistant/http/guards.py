"""Guard rails of the HTTP service, as plain ASGI middleware (streaming-safe).

* `RequestIdMiddleware` (outermost): X-Request-ID in and out, one log line per request.
* `JsonCORSMiddleware`: Starlette's CORS, but a refused preflight answers in JSON.
* `GuardMiddleware`: per-client rate limit (429 + Retry-After; `ratelimit.RateLimiter`, a
  moving window through `limits`), weighted by cost (a request counts once, plus once per
  `cost_bytes` of body: a long question costs more CPU), a body-size limit counted as the
  bytes arrive (413, whatever Content-Length says, also when the last chunk crosses it), a JSON body with lone surrogates (\ud800)
  refused with a 400 before any route sees it, and a last-resort catch-all so that no stack
  trace ever reaches a client. The client is the TCP peer: uvicorn rewrites it from
  X-Forwarded-For only for peers in `trusted_proxies` (see server.run).
* `install_error_handlers`: every 4xx/5xx as {"error", "message" (中文), "request_id"};
  under /v1/ in OpenAI's shape {"error": {"message", "type", "code"}}.

Rate-limit counters live in the process by default (with N uvicorn workers a client gets up
to N times the configured rate); with `ASSISTANT_RATELIMIT_URL=redis://…` every worker and
replica shares them.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .ratelimit import RateLimiter

log = logging.getLogger("assistant.server")

_RID_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")
DRAIN_CAP = 64 * 1024 * 1024  # read (and discard) at most this much of an oversized body

HTTP_MESSAGES = {
    400: "请求格式不正确。",
    401: "需要身份验证。",
    403: "没有权限执行此操作。",
    404: "找不到请求的地址。",
    405: "不支持该请求方法。",
    406: "无法提供所要求的响应格式。",
    413: "请求内容过大。",
    415: "不支持的内容类型，请使用 application/json。",
    422: "请求参数不正确。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务器内部错误，请稍后再试。",
    503: "服务暂时不可用，请稍后再试。",
}


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a Chinese message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def request_id_of(scope: Scope) -> str | None:
    state = scope.get("state") or {}
    return state.get("request_id")


def _openai_type(status: int) -> str:
    if status == 429:
        return "rate_limit_error"
    if status in (401, 403):
        return "permission_error"
    if status == 404:
        return "not_found_error"
    return "server_error" if status >= 500 else "invalid_request_error"


def error_response(
    scope: Scope,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    rid = request_id_of(scope)
    if str(scope.get("path", "")).startswith("/v1/"):
        body: dict[str, Any] = {
            "error": {
                "message": message,
                "type": "invalid_request_error" if code == "model_not_found" else _openai_type(status),
                "code": code,
                "param": "model" if code == "model_not_found" else None,
            },
            "request_id": rid,
        }
    else:
        body = {"error": code, "message": message, "request_id": rid, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


# ---------------------------------------------------------------- request id
class RequestIdMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = Headers(scope=scope).get("x-request-id", "")
        rid = incoming if _RID_OK.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started, status = time.perf_counter(), 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = (scope.get("client") or ("-",))[0]
            log.info(
                "%s %s %s %s %.0fms %s",
                rid,
                scope["method"],
                scope["path"],
                status or "-",
                (time.perf_counter() - started) * 1000,
                client,
            )


# ---------------------------------------------------------------- CORS
class JsonCORSMiddleware(CORSMiddleware):
    """A refused preflight (origin, method or header not allowed) as a JSON 400."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        return JSONResponse(
            {"error": "cors_forbidden", "message": "不允许来自该来源的跨域请求。"}, status_code=400
        )


# ---------------------------------------------------------------- guards
class GuardMiddleware:
    """Rate limit (for /api/ and /v1/), body-size limit (all requests), catch-all."""

    LIMITED_PREFIXES = ("/api/", "/v1/")

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        per_minute: int,
        burst: int,
        cost_bytes: int = 0,
        ratelimit_url: str = "memory://",
    ):
        self.app = app
        self.max_body = max_body_bytes
        self.limiter = RateLimiter(ratelimit_url, per_minute, burst)
        self.cost_bytes = cost_bytes  # 0: every request costs one

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limited = scope["method"] != "OPTIONS" and scope["path"].startswith(self.LIMITED_PREFIXES)
        client = (scope.get("client") or ("unknown",))[0]
        if limited:
            wait = await self.limiter.take(client)
            if wait > 0:
                return await self._rate_limited(scope, receive, send, wait)

        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return await error_response(
                    scope, 400, "bad_content_length", "Content-Length 无效。"
                )(scope, receive, send)
            if int(declared) > self.max_body:
                return await self._too_large(scope, receive, send, 0)
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away before sending its body
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_body:
                more = bool(message.get("more_body", False))
                return await self._too_large(scope, receive, send, total, more)
            chunks.append(body)
            if not message.get("more_body", False):
                break
        if limited and self.cost_bytes > 0 and total >= self.cost_bytes:
            wait = await self.limiter.take(client, cost=total // self.cost_bytes)
            if wait > 0:
                return await self._rate_limited(scope, receive, send, wait)
        if has_lone_surrogate(chunks):
            return await error_response(
                scope, 400, "invalid_unicode", "请求中含有无效的 Unicode 字符（孤立的代理项），请检查输入。"
            )(scope, receive, send)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, replay, tracking_send)
        except Exception:
            log.exception(
                "%s unhandled error on %s %s", request_id_of(scope), scope["method"], scope["path"]
            )
            if started:
                raise  # mid-response: let the server drop the connection
            await error_response(scope, 500, "internal_error", HTTP_MESSAGES[500])(
                scope, replay, send
            )

    async def _rate_limited(self, scope: Scope, receive: Receive, send: Send, wait: float) -> None:
        retry = max(1, math.ceil(wait))
        resp = error_response(
            scope,
            429,
            "rate_limited",
            f"请求过于频繁，请 {retry} 秒后再试。",
            headers={"Retry-After": str(retry)},
            retry_after=retry,
        )
        await resp(scope, receive, send)

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, seen: int, more: bool = True
    ) -> None:
        # Read the rest (up to a cap) so that the client, which is still sending,
        # gets to read our answer instead of a reset connection. When the chunk that crossed
        # the limit was the last one, there is nothing more to read: answer at once.
        while more and seen < DRAIN_CAP:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            seen += len(message.get("body", b""))
            more = message.get("more_body", False)
        limit_kb = self.max_body // 1024
        resp = error_response(
            scope,
            413,
            "body_too_large",
            f"请求内容过大（上限 {limit_kb} KB）。",
            headers={"Connection": "close"} if more else None,
        )
        await resp(scope, receive, send)


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _walk_has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_walk_has_surrogate(k) or _walk_has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_walk_has_surrogate(v) for v in value)
    return False


def has_lone_surrogate(chunks: list[bytes]) -> bool:
    """True when a JSON body decodes to a string with an unpaired surrogate (\\ud800): such a
    string cannot be stored, logged or sent back as UTF-8. Only bodies carrying a surrogate
    escape are parsed (an emoji is a valid pair and passes)."""
    if not any(_SURROGATE_ESCAPE.search(c) for c in chunks):
        body = b"".join(chunks)
        if not _SURROGATE_ESCAPE.search(body):
            return False
    import json

    try:
        return _walk_has_surrogate(json.loads(b"".join(chunks)))
    except (ValueError, RecursionError):
        return False  # not JSON: the route's own validation answers


# ---------------------------------------------------------------- exception handlers
_PYDANTIC_ZH = {
    "missing": "缺少该字段",
    "string_type": "应为字符串",
    "list_type": "应为数组",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "too_long": "条目过多",
    "too_short": "条目过少",
    "extra_forbidden": "不允许的字段",
    "value_error": "取值不正确",
}


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path")]
    if not parts:
        return "请求体"
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def validation_message(errors: list[dict[str, Any]]) -> str:
    items = []
    for e in errors[:3]:
        reason = _PYDANTIC_ZH.get(e.get("type", ""), "类型或取值不正确")
        ctx = e.get("ctx") or {}
        if e.get("type") == "string_too_long" and "max_length" in ctx:
            reason = f"长度不能超过 {ctx['max_length']} 个字符"
        elif e.get("type") == "literal_error" and "expected" in ctx:
            reason = f"取值应为 {ctx['expected']}"
        items.append(f"{_loc(tuple(e.get('loc', ())))} {reason}")
    more = f" 等 {len(errors)} 处" if len(errors) > 3 else ""
    return "请求参数不正确：" + "；".join(items) + more + "。"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request.scope, exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        message = detail or HTTP_MESSAGES.get(exc.status_code, "请求失败。")
        code = {404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, f"http_{exc.status_code}"
        )
        return error_response(
            request.scope, exc.status_code, code, message, headers=dict(exc.headers or {})
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(request.scope, 400, "invalid_json", "请求体不是合法的 JSON。")
        fields = [_loc(tuple(e.get("loc", ()))) for e in errors[:10]]  # not in the /v1 shape
        return error_response(
            request.scope, 422, "invalid_request", validation_message(errors), fields=fields
        )
