"""The chat service behind the HTTP routes: request models, input checks, answering
with logging (nothing a user submitted is lost), and the SSE event stream."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.concurrency import run_in_threadpool

from ..retrieval.store import IndexMissingError, IndexStore, StoreHolder, VectorStoreError
from ..settings import Settings
from .feedback import FeedbackStore
from .guards import (
    ApiError,
)

log = logging.getLogger("assistant.service")
MODEL_ID = "plan-assistant"
STREAM_FAILED = "生成回答时出错，请稍后再试。"
VECTORS_DOWN = "检索服务（向量库）暂时不可用，请稍后再试。"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant", "system"]
    content: StrictStr


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messages: list[ChatMessage]
    plan_id: StrictStr | None = Field(None, max_length=100)


class OpenAIMessage(BaseModel):
    """A message as OpenAI clients and agent frameworks send it: text or content parts,
    and any of the protocol's roles."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant", "system", "developer", "tool", "function"]
    content: StrictStr | list[dict[str, Any]] | None = None

    def as_plain(self) -> dict[str, str] | None:
        """The message for the assistant, or None for tool/function output. Tool output is
        dropped and system/developer text is kept only as `system`, which the assistant never
        reads as a question or as a source: answers come from the plans alone."""
        if self.role in ("tool", "function"):
            return None
        content = self.content
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(
                str(p.get("text", "")) for p in content if p.get("type") in ("text", "input_text")
            )
        return {
            "role": "system" if self.role == "developer" else self.role,
            "content": content or "",
        }


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: StrictBool = False


class OpenAIRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: StrictStr = MODEL_ID
    messages: list[OpenAIMessage]
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
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


def _api_error(exc: Exception) -> ApiError | None:
    """The HTTP error an answer failure is shown as (bad input 4xx, vector store 503); None
    for anything else, which stays a 500."""
    from ..answer.assistant import InputError

    if isinstance(exc, InputError):
        return ApiError(404 if exc.code == "unknown_plan" else 422, exc.code, str(exc))
    if isinstance(exc, VectorStoreError):
        log.warning("answer failed, vector store down: %s", exc)
        return ApiError(503, "vector_store_unavailable", VECTORS_DOWN)
    return None


class Service:
    """What the routes share: settings, the live index, the assistant, the SQLite log."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.holder = StoreHolder(settings)
        self.feedback = FeedbackStore(settings.data_dir, settings.database_url)
        self._assistant: Any = None
        self._lock = threading.Lock()
        self._warm_lock = threading.Lock()
        self._warmed: set[str] = set()
        self.index_lock = threading.Lock()  # start-up warm-up and admin reindex, one at a time

    def assistant(self) -> Any:
        if self._assistant is None:
            with self._lock:
                if self._assistant is None:
                    from ..answer.assistant import Assistant

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
                        from ..answer.evidence import matcher

                        matcher(store).warm()
                        self._warmed.add(store.generation)
            return store
        except IndexMissingError as exc:
            raise ApiError(
                503, "index_missing", "索引尚未建立，请管理员先运行 assistant ingest。"
            ) from exc
        except Exception as exc:
            log.exception("index failed to load")
            raise ApiError(503, "index_unavailable", "索引暂时无法加载，请稍后再试。") from exc

    def ready(self) -> dict[str, Any]:
        """Readiness: the index opens and its vector store answers (503 otherwise)."""
        store = self.store(warm=True)
        try:
            vectors = store.vector_count()
        except VectorStoreError as exc:
            log.warning("not ready: %s", exc)
            raise ApiError(503, "vector_store_unavailable", VECTORS_DOWN) from exc
        if vectors == 0 and store.chunks:
            raise ApiError(503, "vector_store_unavailable", VECTORS_DOWN)
        return {
            "status": "ready",
            "generation": store.generation,
            "plans": len(store.plans),
            "vectors": vectors,
        }

    def check(self, messages: list[dict[str, str]], plan_id: str | None) -> None:
        """Validate before streaming starts, so bad input is a clean 4xx, not a broken stream."""
        from ..answer.assistant import InputError

        store = self.store(warm=True)  # 503 now rather than a failure inside the pipeline
        try:
            self.assistant().validate(messages, plan_id, store)
        except InputError as exc:
            raise ApiError(404 if exc.code == "unknown_plan" else 422, exc.code, str(exc)) from exc

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
        from ..answer.assistant import InputError

        started = time.perf_counter()
        try:
            result = self.assistant().answer(messages, plan_id=plan_id).to_dict()
        except IndexMissingError:
            self.store()  # raises the 503
            raise
        except Exception as exc:  # anything else: logged (with the traceback) by GuardMiddleware
            if not isinstance(exc, InputError):  # the conversation is kept, failed or not
                self.log(request, endpoint, message_id, messages, plan_id, None, started)
            api = _api_error(exc)
            if api is None:
                raise
            raise api from exc
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
        from ..answer.assistant import InputError

        started = time.perf_counter()
        gen = self.assistant().stream(messages, plan_id=plan_id)
        try:
            first = await run_in_threadpool(next, gen, None)
        except IndexMissingError:
            self.store()  # raises the 503
            raise
        except Exception as exc:
            if not isinstance(exc, InputError):  # the conversation is kept, failed or not
                await run_in_threadpool(
                    self.log, request, endpoint, message_id, messages, plan_id, None, started
                )
            api = _api_error(exc)
            if api is None:
                raise
            raise api from exc

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
