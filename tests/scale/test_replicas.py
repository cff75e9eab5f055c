"""Two API replicas on shared services, all real and on loopback: PostgreSQL (initdb + postgres
from Debian's packages, as an unprivileged user when the test runs as root, which postgres
refuses), redis-server, a Chroma server (`chroma run`), and two `assistant serve` processes
pointed at them with separate data dirs.

Checks: both replicas give the same answer; an answer logged by A takes feedback through B
and both are read back through the other replica (the admin read route), with nothing written
to either local data dir; the rate limit is one budget for both; with Redis gone a replica
still answers and limits on its own.

The binaries come from scripts/ensure_services.sh (`make test` runs it); without them the
test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.ingest.index import build_index
from tests.conftest import ROOT, make_settings
from tests.http.conftest import ServerProcess, parse_sse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMA = Path(sys.executable).parent / "chroma"
ADMIN = "replica-admin-token"
BURST = 16  # every /api/ request in this test counts against one budget of 16 …
PER_MINUTE = 1  # … in a window of 16 minutes: nothing slides out while the test runs
QUESTION = "外资旅行社由谁牵头？"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing(what: str) -> None:
    message = f"{what} not installed (scripts/ensure_services.sh installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def wait_for(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if ready():
                return
        except Exception:  # not listening yet
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} not ready after 60 s:\n{log.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def postgres_bin(name: str) -> str | None:
    """Where Debian installs it (/usr/lib/postgresql/<version>/bin), else on PATH."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    initdb, server = postgres_bin("initdb"), postgres_bin("postgres")
    if not initdb or not server:
        missing("PostgreSQL (initdb, postgres)")
    # postgres refuses to run as root: as root, run it as `nobody` in a directory it owns
    # (outside pytest's tmp dir, which only root may enter)
    as_user: dict[str, Any] = {}
    top = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(top, nobody.pw_uid, nobody.pw_gid)
        as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    data, log = top / "data", top / "postgres.log"
    proc = None
    try:
        subprocess.run(
            [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync"],
            check=True, capture_output=True, cwd=top, **as_user,
        )  # fmt: skip
        port = free_port()
        with open(log, "wb") as out:
            # fsync off: a throwaway cluster; durability is PostgreSQL's, not under test here
            proc = subprocess.Popen(
                [server, "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
                 "-c", "unix_socket_directories=", "-c", "fsync=off"],
                stdout=out, stderr=subprocess.STDOUT, cwd=top, **as_user,
            )  # fmt: skip
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

        def ready() -> bool:
            import psycopg

            psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                            connect_timeout=2).close()  # fmt: skip
            return True

        wait_for(ready, proc, "postgres", log)
        yield url
    finally:
        if proc is not None:
            stop(proc, signal.SIGINT)  # postgres: fast shutdown, whoever is still connected
        shutil.rmtree(top, ignore_errors=True)


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port = workdir, free_port()
        self.log = workdir / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, binary: str) -> None:
        import redis

        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(lambda: bool(redis.Redis(port=self.port).ping()), self.proc, "redis", self.log)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
    )
    if not binary:
        missing("redis-server")
    server = Redis(tmp_path_factory.mktemp("redis"))
    server.start(binary)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not CHROMA.exists():
        pytest.skip("chroma CLI not installed")
    port, workdir = free_port(), tmp_path_factory.mktemp("chroma")
    log = workdir / "chroma.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(workdir / "data"), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )  # fmt: skip
    try:
        heartbeat = f"http://127.0.0.1:{port}/api/v2/heartbeat"
        wait_for(lambda: httpx.get(heartbeat, timeout=1).status_code == 200, proc, "chroma", log)
        yield port
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, postgres: str, redis_server: Redis, chroma_port: int
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    root = tmp_path_factory.mktemp("replicas")
    # one ingest into the Chroma server (hash embeddings: fast; the wiring is under test);
    # the replicas read its tables from the same index dir, as from a shared volume
    settings = make_settings(
        root, chroma_host="127.0.0.1", chroma_port=chroma_port, embed_mode="hash"
    )
    build_index(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {
        "ASSISTANT_EMBED_MODE": "hash",
        "ASSISTANT_CORPUS_DIR": str(ROOT / "corpus"),
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CHROMA_HOST": "127.0.0.1",
        "ASSISTANT_CHROMA_PORT": str(chroma_port),
        "ASSISTANT_DATABASE_URL": postgres,
        "ASSISTANT_RATELIMIT_URL": redis_server.url,
        "ASSISTANT_RATE_LIMIT_BURST": str(BURST),
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
        "ASSISTANT_LLM_BASE_URL": "",
        "ASSISTANT_ADMIN_TOKEN": ADMIN,
    }
    pair = []
    for name in ("a", "b"):
        (root / name).mkdir()
        pair.append(ServerProcess(env, root / name / "data", root / name))
    try:
        with ThreadPoolExecutor(2) as pool:  # both start at once: schema creation races
            list(pool.map(lambda s: s.start(), pair))
        yield pair[0], pair[1]
    finally:
        for s in pair:
            s.stop()


class Calls:
    """Every /api/ request of the test goes through here, so that what it spent of the
    shared rate-limit budget (one per request, whatever its status) is counted exactly."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    def __call__(self, server: ServerProcess, method: str, path: str, **kw: Any) -> httpx.Response:
        if path.startswith("/api/feedback/"):
            kw.setdefault("headers", {})["Authorization"] = f"Bearer {ADMIN}"
        with server.client() as c:
            r = c.request(method, path, **kw)
        self.statuses.append(r.status_code)
        return r


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "message_id"}


def test_two_replicas_share_state(
    replicas: tuple[ServerProcess, ServerProcess], redis_server: Redis
) -> None:
    a, b = replicas
    call = Calls()
    body = {"messages": [{"role": "user", "content": QUESTION}]}

    # the same answer from either replica (one Chroma server, one index)
    ra = call(a, "POST", "/api/chat", json=body)
    rb = call(b, "POST", "/api/chat", json=body)
    assert ra.status_code == rb.status_code == 200, (ra.text, rb.text)
    assert ra.json()["status"] == "answered" and ra.json()["citations"]
    assert comparable(ra.json()) == comparable(rb.json())
    mid = ra.json()["message_id"]

    # feedback on A's answer is accepted by B (B sees A's conversation log) and vice versa
    fb = call(
        b, "POST", "/api/feedback", json={"message_id": mid, "rating": "up", "comment": "经B"}
    )
    assert fb.status_code == 200 and fb.json() == {"ok": True}, fb.text
    fa = call(a, "POST", "/api/feedback", json={"message_id": mid, "rating": "down"})
    assert fa.status_code == 200, fa.text
    for reader in (a, b):
        log = call(reader, "GET", f"/api/feedback/{mid}").json()
        assert [(f["rating"], f["comment"]) for f in log["feedback"]] == [
            ("up", "经B"),
            ("down", None),
        ]
        assert log["conversation"]["messages"] == body["messages"]
        assert log["conversation"]["answer"]["answer"] == ra.json()["answer"]

    # a streamed answer logged by B is read back through A
    stream = call(b, "POST", "/api/chat/stream", json=body)
    done = [e for name, e in parse_sse(stream.text) if name == "done"]
    assert stream.status_code == 200 and done, stream.text
    smid = json.loads(done[0])["message_id"]
    conv = call(a, "GET", f"/api/feedback/{smid}").json()["conversation"]
    assert conv["endpoint"] == "/api/chat/stream" and conv["status"] == "answered"

    # an unknown id is refused by both, and nothing is stored for it
    for server in (a, b):
        bad = call(server, "POST", "/api/feedback", json={"message_id": "m-none", "rating": "up"})
        assert bad.status_code == 404 and bad.json()["error"] == "unknown_message"
    assert call(a, "GET", "/api/feedback/m-none").json()["feedback"] == []

    # nothing went to a replica's local SQLite file
    assert not list(a.data_dir.glob("*.sqlite3*")) and not list(b.data_dir.glob("*.sqlite3*"))

    # one rate-limit budget: requests alternating between A and B run out of it together
    for i in range(2 * BURST):
        r = call((a, b)[i % 2], "GET", "/api/plans")
        if r.status_code != 200:
            break
    assert r.status_code == 429 and r.json()["error"] == "rate_limited", r.text
    assert int(r.headers["retry-after"]) >= 1
    assert call.statuses.index(429) == BURST, call.statuses  # not BURST per replica
    for server in (a, b):
        assert call(server, "GET", "/api/plans").status_code == 429

    # Redis gone: a replica keeps answering and limits on its own (its local window)
    redis_server.stop()
    local = [call(a, "GET", "/api/plans").status_code for _ in range(BURST + 1)]
    assert local == [200] * BURST + [429], local
    assert "unavailable" in a.log_tail(20_000)


def test_schema_creation_races(postgres: str, tmp_path: Path) -> None:
    """Replicas that start at once all create the schema on first use: on a fresh PostgreSQL
    database and a fresh SQLite file, eight stores (separate engines, as separate processes
    would have) write at the same moment; every write lands, none fails."""
    import psycopg

    from assistant.http.feedback import FeedbackStore
    from assistant.settings import database_url

    dbname = f"race_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(postgres, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{dbname}"')
    urls = [database_url(postgres.rsplit("/", 1)[0] + "/" + dbname), None]
    for url in urls:
        stores = [FeedbackStore(tmp_path / "data", url) for _ in range(8)]
        barrier = threading.Barrier(len(stores))

        def first_write(i: int, stores: list[FeedbackStore] = stores,
                        barrier: threading.Barrier = barrier) -> None:  # fmt: skip
            barrier.wait()
            stores[i].log_conversation(
                message_id=f"m-{i}", request_id=None, endpoint="/api/chat", plan_id=None,
                messages=[{"role": "user", "content": "问题"}], answer=None, status="error",
                intent=None, latency_ms=1, client=None,
            )  # fmt: skip
            stores[i].add_feedback(f"m-{i}", "up", "并发", None)

        with ThreadPoolExecutor(len(stores)) as pool:
            list(pool.map(first_write, range(len(stores))))
        reader = FeedbackStore(tmp_path / "data", url)
        for i in range(len(stores)):
            assert reader.has_message(f"m-{i}"), (url, i)
            assert [f["comment"] for f in reader.feedback_for(f"m-{i}")] == ["并发"]
        for s in [*stores, reader]:
            s.engine.dispose()
