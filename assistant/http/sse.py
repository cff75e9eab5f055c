"""Server-Sent Events: the one place where events are framed, through sse-starlette.

Both streaming routes (/api/chat/stream with named events, /v1/chat/completions with
OpenAI's bare `data:` chunks) hand an async iterator of `Event`s to `sse_response`;
sse-starlette writes the WHATWG framing, sends keep-alive comments while an answer is
being prepared, and stops the iterator when the client goes away. Each event is written
to the socket as soon as it is yielded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

PING_S = 15  # keep-alive comments for proxies that close idle connections
SEP = "\n"


def event(name: str | None, data: Any) -> ServerSentEvent:
    """A named event (`event: name`) or, with name None, a bare `data:` line; data that is
    not already a string is sent as compact UTF-8 JSON."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return ServerSentEvent(data=text, event=name, sep=SEP)


def sse_response(events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    return EventSourceResponse(
        events, sep=SEP, ping=PING_S, headers={"Cache-Control": "no-cache"}
    )
