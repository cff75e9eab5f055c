"""Optional LLM answer mode through any OpenAI-compatible chat-completions endpoint.

The composer writes an answer from the numbered citations only; what it returns is
checked afterwards (verify.verify_llm) and every failure here is raised as LLMError
so that the caller can fall back to the extractive answer and say so.
Nothing touches the network until compose() / stream() is called.

Only the current question is an instruction: earlier user turns go into the prompt as
quoted history, and assistant turns the client sends are not sent at all (the client holds
the conversation and can forge them). compose() is bounded three ways: `max_tokens` is sent
and the reply is cut at `llm_max_reply_chars`; an overall deadline (`llm_deadline_s`, not a
per-read timeout) after which the caller gets LLMError while the HTTP response is closed
behind it; and at most `llm_max_concurrency` calls at once per process (LLMBusy beyond), so
a hanging model ties up a few threads, never the server's pool.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from ..records import Citation
from ..settings import Settings, prepare_offline_runtime
from .prompts import Prompt, PromptError, load_prompt

SYSTEM_PROMPT = "answer_system"
USER_PROMPT = "answer_user"
NO_HISTORY = "（无）"
QUEUE_S = 1.0  # how long a question waits for a free LLM slot before answering without it


class LLMError(RuntimeError):
    """The LLM could not produce an answer (connection, timeout, HTTP error, empty reply…)."""


class LLMBusy(LLMError):
    """Every LLM slot of this process is taken (the model is slow or hanging)."""


def format_source(c: Citation) -> str:
    """One numbered source block: header, the quote, then the units as two labelled lists."""
    title = c.plan_title.strip().strip("《》")
    head = f"[{c.marker}] 《{title}》"
    if c.task_number is not None:
        head += f"第{c.task_number}项"
    if c.section:
        head += f"（{c.section}）"
    lines = [head, c.quote.strip()]
    if c.lead or c.responsible:
        units = [f"牵头单位：{'、'.join(c.lead) if c.lead else '未列明'}"]
        if c.responsible:
            units.append(f"{c.role_word or '责任单位'}：{'、'.join(c.responsible)}")
        lines.append("；".join(units))
    return "\n".join(lines)


def format_sources(citations: Sequence[Citation]) -> str:
    return "\n\n".join(format_source(c) for c in citations) if citations else "（无）"


def clean_history(history: Sequence[dict[str, Any]], question: str) -> list[dict[str, str]]:
    """Earlier user turns with text, oldest first; a trailing copy of the question is dropped.

    Assistant turns are left out: the client holds them and may have written them itself."""
    turns = [
        {"role": "user", "content": m["content"].strip()}
        for m in history
        if isinstance(m, dict)
        and m.get("role") == "user"
        and isinstance(m.get("content"), str)
        and m["content"].strip()
    ]
    if turns and turns[-1]["content"] == question.strip():
        turns.pop()
    return turns


def format_history(turns: Sequence[dict[str, str]]) -> str:
    """Each earlier question as one quoted JSON string: it cannot open a new prompt section."""
    if not turns:
        return NO_HISTORY
    return "\n".join(
        f"{i}. 用户曾问：{json.dumps(t['content'], ensure_ascii=False)}"
        for i, t in enumerate(turns, 1)
    )


@dataclass(frozen=True)
class Context:
    """What is actually sent after trimming, and what was left out."""

    messages: list[dict[str, str]]
    history: list[dict[str, str]]
    citations: list[Citation]
    tokens: int
    dropped_history: int
    dropped_citations: list[int]  # markers


def fit_context(
    system: Prompt,
    user: Prompt,
    question: str,
    history: Sequence[dict[str, Any]],
    citations: Sequence[Citation],
    budget: int,
    count: Callable[[str], int],
) -> Context:
    """Render the prompt within `budget` tokens (system + user message).

    Oldest history turns go first, then the lowest-ranked sources (highest markers);
    a source is either sent whole or not at all. If no source fits (and there were
    some), or the question alone does not fit, LLMError is raised.
    """
    question = question.strip()
    turns = clean_history(history, question)
    sources = sorted(citations, key=lambda c: c.marker)
    system_text = system.render()
    system_tokens = count(system_text)
    n_turns, n_sources = len(turns), len(sources)

    def render(t: int, s: int) -> tuple[str, int]:
        text = user.render(
            question=question,
            history=format_history(turns[len(turns) - t :] if t else []),
            sources=format_sources(sources[:s]),
        )
        return text, system_tokens + count(text)

    text, tokens = render(n_turns, n_sources)
    while tokens > budget and n_turns > 0:
        n_turns -= 1
        text, tokens = render(n_turns, n_sources)
    while tokens > budget and n_sources > 0:
        n_sources -= 1
        text, tokens = render(n_turns, n_sources)
    if tokens > budget or (sources and n_sources == 0):
        raise LLMError(
            f"context budget of {budget} tokens is too small for the question and one source "
            f"({tokens} tokens needed)"
        )
    kept = turns[len(turns) - n_turns :] if n_turns else []
    return Context(
        messages=[{"role": "system", "content": system_text}, {"role": "user", "content": text}],
        history=kept,
        citations=list(sources[:n_sources]),
        tokens=tokens,
        dropped_history=len(turns) - n_turns,
        dropped_citations=[c.marker for c in sources[n_sources:]],
    )


def _failures() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the endpoint failed us" (the openai client wraps most
    transport errors, but a stream can still surface raw httpx2 errors or bad JSON)."""
    import openai

    kinds: list[type[BaseException]] = [openai.OpenAIError, ValueError, OSError]
    try:
        import httpx2

        kinds += [httpx2.HTTPError, httpx2.StreamError]
    except ImportError:  # pragma: no cover - older openai clients use httpx
        import httpx

        kinds += [httpx.HTTPError, httpx.StreamError]
    return tuple(kinds)


def _describe(exc: BaseException) -> str:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "LLM request timed out"
    if isinstance(exc, openai.APIStatusError):
        return f"LLM endpoint returned HTTP {exc.status_code}: {exc.message}"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the LLM endpoint: {exc}"
    return f"LLM request failed: {type(exc).__name__}: {exc}"


class _Call:
    """One streamed completion read on its own thread, so that the caller can stop waiting
    at the deadline; cancel() closes the HTTP response under the reader."""

    def __init__(self, composer: LLMComposer, ctx: Context) -> None:
        self.composer, self.ctx = composer, ctx
        self.pieces: list[str] = []
        self.error: LLMError | None = None
        self.done = threading.Event()
        self.changed = threading.Condition()  # a piece arrived, or the call ended
        self.cancelled = False
        self._events: Any = None
        self._lock = threading.Lock()

    def run(self) -> None:
        s = self.composer.settings
        failures = _failures()
        size = 0
        try:
            events = self.composer._client.chat.completions.create(
                model=self.composer.model,
                messages=cast(Any, self.ctx.messages),
                temperature=0,
                max_tokens=s.llm_max_tokens,
                stream=True,
            )
            with self._lock:
                self._events = events
                if self.cancelled:
                    events.close()
                    return
            for chunk in events:
                for choice in getattr(chunk, "choices", None) or ():
                    delta = getattr(choice.delta, "content", None) if choice.delta else None
                    if isinstance(delta, str) and delta:
                        with self.changed:
                            self.pieces.append(delta)
                            self.changed.notify_all()
                        size += len(delta)
                if size >= s.llm_max_reply_chars or self.cancelled:
                    break  # a reply past the cap is not read any further
            events.close()
        except failures as exc:
            self.error = LLMError(_describe(exc))
        except Exception as exc:  # a malformed stream must not kill the reader silently
            self.error = LLMError(f"LLM reply could not be read: {type(exc).__name__}: {exc}")
        finally:
            with self.changed:
                self.done.set()
                self.changed.notify_all()
            self.composer._slots.release()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            events = self._events
        if events is not None:
            try:
                events.close()
            except Exception:  # closing under a reader may race; the reader ends either way
                pass

    def text(self) -> str:
        return "".join(self.pieces)[: self.composer.settings.llm_max_reply_chars]


class LLMComposer:
    """Writes a cited answer from numbered citations via an OpenAI-compatible endpoint."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_base_url:
            raise LLMError("no LLM endpoint configured (llm_base_url is empty)")
        prepare_offline_runtime(settings)  # tiktoken must read the bundled cl100k_base
        import openai

        self.settings = settings
        self.model = settings.llm_model
        try:
            self.system_prompt = load_prompt(settings, SYSTEM_PROMPT)
            self.user_prompt = load_prompt(settings, USER_PROMPT)
        except PromptError as exc:
            raise LLMError(str(exc)) from exc
        self._slots = threading.BoundedSemaphore(max(1, settings.llm_max_concurrency))
        self._client = openai.OpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            timeout=min(settings.llm_timeout_s, settings.llm_deadline_s),
            max_retries=0,
        )

    @property
    def prompt_texts(self) -> list[str]:
        """The prompts' own words (an answer must never repeat them)."""
        return [self.system_prompt.template, self.user_prompt.template]

    def context(
        self, question: str, history: Sequence[dict[str, Any]], citations: Sequence[Citation]
    ) -> Context:
        from ..ingest.chunk import count_tokens

        return fit_context(
            self.system_prompt,
            self.user_prompt,
            question,
            history,
            citations,
            self.settings.llm_max_context_tokens,
            count_tokens,
        )

    def compose(
        self,
        question: str,
        history: Sequence[dict[str, Any]],
        citations: Sequence[Citation],
        deadline: float | None = None,
    ) -> str:
        """The whole reply text (cut at llm_max_reply_chars), by `deadline` (time.monotonic();
        default: llm_deadline_s from now). Raises LLMError on any failure, an empty reply or
        the deadline, LLMBusy when no slot frees up in time."""
        return "".join(self.pieces(question, history, citations, deadline)).strip()

    def pieces(
        self,
        question: str,
        history: Sequence[dict[str, Any]],
        citations: Sequence[Citation],
        deadline: float | None = None,
    ) -> Iterator[str]:
        """Text deltas as they arrive (unverified), read on their own thread so that the
        caller stops at `deadline` whatever the endpoint does.

        LLMError is raised here when the context cannot fit or the deadline has passed,
        LLMBusy when no slot frees up in time; while iterating, LLMError on any endpoint
        failure, the deadline, or a reply without text. The reply is cut at
        llm_max_reply_chars."""
        ctx = self.context(question, history, citations)
        if deadline is None:
            deadline = time.monotonic() + self.settings.llm_deadline_s
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise LLMError("the answer deadline passed before the LLM was asked")
        if not self._slots.acquire(timeout=min(wait, QUEUE_S)):
            raise LLMBusy(
                f"all {self.settings.llm_max_concurrency} LLM slots are busy; answered without it"
            )
        call = _Call(self, ctx)
        try:
            threading.Thread(target=call.run, name="llm-call", daemon=True).start()
        except BaseException:
            self._slots.release()
            raise
        return self._follow(call, deadline)

    stream = pieces  # the name the streaming callers know

    def _follow(self, call: _Call, deadline: float) -> Iterator[str]:
        cap = self.settings.llm_max_reply_chars
        seen = size = 0
        got_text = False
        try:
            while True:
                with call.changed:
                    while len(call.pieces) == seen and not call.done.is_set():
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise LLMError(
                                f"no complete LLM reply within the {self.settings.llm_deadline_s:g} s deadline"
                            )
                        call.changed.wait(timeout=left)
                    new, seen = call.pieces[seen:], len(call.pieces)
                    finished = call.done.is_set() and seen == len(call.pieces)
                for piece in new:
                    piece = piece[: max(0, cap - size)]
                    if not piece:
                        continue
                    size += len(piece)
                    got_text = got_text or bool(piece.strip())
                    yield piece
                if finished:
                    break
        finally:
            if not call.done.is_set():
                call.cancel()
        if call.error is not None:
            raise call.error
        if not got_text:
            raise LLMError("LLM returned an empty reply")
