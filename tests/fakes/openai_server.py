"""A small, real OpenAI-compatible HTTP server on loopback, for tests.

It speaks just enough of the protocol for the official `openai` client:

* ``POST /v1/chat/completions`` -> a ``chat.completion`` JSON object, or with
  ``"stream": true`` Server-Sent Events (``data: {chat.completion.chunk}`` lines,
  then ``data: [DONE]``);
* ``GET /v1/models`` -> a model list.

Every request is recorded (method, path, headers, parsed JSON body) so that tests
can assert the prompt that was sent. Behaviour is scripted per test with
``server.script(reply=..., delay_s=..., status=...)``; a script stays in force
until the next call. Nothing is patched: the client really talks HTTP to it.

    with FakeOpenAIServer() as fake:
        fake.script(reply="由县商务委牵头[1]。")
        settings = load_settings({}, llm_base_url=fake.base_url)
        ...
        fake.chat_requests[-1]["messages"]

Faults for the reliability suite: ``delay_s`` (hang before the headers), ``trickle_s``
(the body one byte at a time, each byte within any read timeout), ``status`` (HTTP errors),
``raw_body`` (garbage), ``reply_fn`` (a reply computed from the request, e.g. a model that
obeys instructions planted in the prompt). ``max_tokens`` is ignored, as a misbehaving
server would: a huge reply is sent whole.

Run it by hand with ``python tests/fakes/openai_server.py --reply "…"``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_REPLY = "本方案未涉及"
DEFAULT_MODEL = "fake-chat"


@dataclass
class Script:
    """How the server answers the next chat-completion requests."""

    reply: str = DEFAULT_REPLY
    deltas: list[str] | None = None  # streamed pieces; default: the reply in 4-char pieces
    delay_s: float = 0.0  # before any byte of the response (triggers client read timeouts)
    chunk_delay_s: float = 0.0  # between streamed chunks
    status: int | None = None  # answer with this HTTP error status instead
    error_message: str = "scripted failure"
    raw_body: str | None = None  # send this body verbatim (status 200) instead of JSON
    # a gate in a streamed reply: after `hold_after` pieces the server waits for `hold` to be
    # set (at most hold_timeout_s) before sending the rest; `released` records whether it was
    # set in time, i.e. whether the client acted on the first pieces before the reply ended
    hold: threading.Event | None = None
    hold_after: int = 0
    hold_timeout_s: float = 30.0
    released: bool | None = None
    trickle_s: float = 0.0  # send the body one byte at a time, this long between bytes
    reply_fn: Callable[[Any], str] | None = None  # the reply from the request body

    def resolved(self, body: Any) -> Script:
        """This script with reply_fn applied to the request body."""
        if self.reply_fn is None:
            return self
        from dataclasses import replace

        return replace(self, reply=self.reply_fn(body), reply_fn=None)

    def pieces(self) -> list[str]:
        if self.deltas is not None:
            return list(self.deltas)
        size = 4 if len(self.reply) < 10_000 else 4096
        return [self.reply[i : i + size] for i in range(0, len(self.reply), size)]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it is not JSON, or None
    at: float = field(default_factory=time.monotonic)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection; SSE ends when it closes

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    # -- plumbing ---------------------------------------------------------------
    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        text = raw.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text

    def _record(self, body: Any) -> None:
        self.server.fake.record(
            RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
        )

    def _not_found(self) -> None:
        self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _wait(self, seconds: float) -> bool:
        """Sleep, but wake up when the server stops. False when it stopped."""
        return not self.server.fake.stopping.wait(seconds) if seconds > 0 else True

    def _trickle(self, data: bytes, gap_s: float) -> bool:
        """Write one byte at a time; False when the server stopped or the client left."""
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            if not self._wait(gap_s):
                return False
        return True

    # -- routes -----------------------------------------------------------------
    def do_GET(self) -> None:
        self._record(None)
        if self.path.rstrip("/") == "/v1/models":
            model = self.server.fake.model
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": model, "object": "model", "created": 0, "owned_by": "fake"},
                    ],
                },
            )
        else:
            self._not_found()

    def do_POST(self) -> None:
        body = self._read_body()
        self._record(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._not_found()
            return
        script = self.server.fake.current.resolved(body)
        try:
            if not self._wait(script.delay_s):
                return
            if script.status is not None:
                self._send_json(
                    script.status,
                    {
                        "error": {
                            "message": script.error_message,
                            "type": "server_error",
                            "code": None,
                        }
                    },
                )
            elif script.raw_body is not None:
                data = script.raw_body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif isinstance(body, dict) and body.get("stream"):
                self._stream(script, body)
            elif script.trickle_s > 0:
                data = json.dumps(self.server.fake.completion(script, body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self._trickle(data, script.trickle_s)
            else:
                self._send_json(200, self.server.fake.completion(script, body))
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client gave up (e.g. its timeout fired); nothing to answer

    def _stream(self, script: Script, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for i, chunk in enumerate(self.server.fake.chunks(script, body)):
            frame = f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
            if script.trickle_s > 0:
                if not self._trickle(frame, script.trickle_s):
                    return
                continue
            self.wfile.write(frame)
            self.wfile.flush()
            if not self._wait(script.chunk_delay_s):
                return
            if script.hold is not None and i == script.hold_after:  # chunk 0 is the role
                script.released = script.hold.wait(script.hold_timeout_s)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAIServer


class FakeOpenAIServer:
    """Start with `with FakeOpenAIServer() as fake:` (or .start()/.stop())."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, model: str = DEFAULT_MODEL):
        self.host = host
        self.port = port
        self.model = model
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self._script = Script()
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        self.stopping.clear()
        self._httpd = _Server((self.host, self.port), _Handler)
        self._httpd.fake = self
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-openai-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wake handlers sleeping on a scripted delay
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as the OpenAI client's base_url."""
        return f"{self.url}/v1"

    # -- scripting and records --------------------------------------------------
    def script(self, reply: str = DEFAULT_REPLY, **kwargs: Any) -> Script:
        """Set how the following chat-completion requests are answered."""
        with self._lock:
            self._script = Script(reply=reply, **kwargs)
            return self._script

    @property
    def current(self) -> Script:
        with self._lock:
            return self._script

    def record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """JSON bodies of the chat-completion requests received, oldest first."""
        with self._lock:
            return [
                r.body
                for r in self.requests
                if r.method == "POST" and r.path.rstrip("/") == "/v1/chat/completions"
            ]

    def last_messages(self) -> list[dict[str, Any]]:
        reqs = self.chat_requests
        if not reqs:
            raise AssertionError("the fake OpenAI server received no chat-completion request")
        return list(reqs[-1]["messages"])

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- payloads ---------------------------------------------------------------
    def _next_id(self) -> str:
        with self._lock:
            self._counter += 1
            return f"chatcmpl-fake-{self._counter}"

    def completion(self, script: Script, body: Any) -> dict[str, Any]:
        model = body.get("model", self.model) if isinstance(body, dict) else self.model
        return {
            "id": self._next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": script.reply},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    def chunks(self, script: Script, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cid, created = self._next_id(), int(time.time())
        model = body.get("model", self.model)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
                ],
            }

        yield chunk({"role": "assistant", "content": ""})
        for piece in script.pieces():
            yield chunk({"content": piece})
        yield chunk({}, "stop")


if __name__ == "__main__":  # pragma: no cover - manual use
    import argparse

    ap = argparse.ArgumentParser(description="fake OpenAI chat-completions server")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--reply", default=DEFAULT_REPLY)
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()
    fake = FakeOpenAIServer(port=args.port or free_port())
    fake.script(reply=args.reply, delay_s=args.delay)
    with fake:
        print(f"fake OpenAI endpoint: {fake.base_url}  (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
