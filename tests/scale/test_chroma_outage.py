"""A Chroma server killed and restarted under load: while it is down, /readyz is 503 and
questions that need vector search get a clear 503 (never a 500 or a hang); once it is back,
the same server process is ready and answers again, with no restart of the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.ingest.index import build_index
from tests.conftest import ROOT, make_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHROMA = Path(sys.executable).parent / "chroma"
# a question only the full search answers (a business's own case: the plans' words alone do not
# decide it, so it always needs the vector store; "…旅行社找哪个部门？" is now answered by the plans'
# words alone and never touches Chroma); a new wording per request (below): answers are kept per
# index generation, so a question asked before the outage is answered from memory then
QUESTION = "我们公司想在石柱做跨境电商，有什么支持？"


def question(n: int) -> dict[str, list[dict[str, str]]]:
    return {"messages": [{"role": "user", "content": f"{QUESTION}（咨询编号 {n}）"}]}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.2)
    return False


class Chroma:
    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port, self.proc = data, port, None  # type: ignore[var-annotated]

    def start(self) -> None:
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        self.proc = subprocess.Popen(  # type: ignore[assignment]
            [str(CHROMA), "run", "--path", str(self.data), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        url = f"http://127.0.0.1:{self.port}/api/v2/heartbeat"
        assert wait_for(lambda: httpx.get(url, timeout=1).status_code == 200, 30), "chroma did not start"

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[Chroma]:
    if not CHROMA.exists():
        pytest.skip("chroma CLI not installed")
    c = Chroma(tmp_path / "chroma-data", free_port())
    c.start()
    try:
        yield c
    finally:
        c.kill()


def test_chroma_killed_and_restarted_under_load(chroma: Chroma, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=chroma.port, embed_mode="hash")
    build_index(settings)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update({
        "ASSISTANT_EMBED_MODE": "hash", "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CORPUS_DIR": str(ROOT / "corpus"), "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_CHROMA_HOST": "127.0.0.1", "ASSISTANT_CHROMA_PORT": str(chroma.port),
        "ASSISTANT_LLM_BASE_URL": "", "ASSISTANT_RATE_LIMIT_PER_MINUTE": "100000",
        "ASSISTANT_RATE_LIMIT_BURST": "100000",
    })
    api = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    seen: list[tuple[float, int, str]] = []
    stop = threading.Event()

    asked = iter(range(10**9))

    def load() -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            while not stop.is_set():
                try:
                    r = c.post("/api/chat", json=question(next(asked)))
                    code = r.json().get("error", "") if r.status_code != 200 else ""
                    seen.append((time.monotonic(), r.status_code, code))
                except httpx.HTTPError as exc:
                    seen.append((time.monotonic(), 0, type(exc).__name__))
                time.sleep(0.05)

    try:
        assert wait_for(lambda: httpx.get(f"{url}/readyz", timeout=2).status_code == 200, 60)
        workers = [threading.Thread(target=load) for _ in range(4)]
        for w in workers:
            w.start()
        time.sleep(1.0)
        chroma.kill()
        killed_at = time.monotonic()
        assert wait_for(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 503, 15)
        down = httpx.get(f"{url}/readyz", timeout=5).json()
        assert down["error"] == "vector_store_unavailable" and "向量库" in down["message"]
        time.sleep(1.5)
        chroma.start()
        restarted_at = time.monotonic()
        assert wait_for(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200, 30)
        recovered_at = time.monotonic()
        time.sleep(2.0)
        stop.set()
        for w in workers:
            w.join(timeout=30)
    finally:
        stop.set()
        api.terminate()
        api.wait(timeout=15)

    during = [(s, e) for t, s, e in seen if killed_at + 0.5 < t < restarted_at]
    after = [s for t, s, _ in seen if t > recovered_at + 0.5]
    assert all(s in (200, 503) for _, s, _ in seen), sorted({(s, e) for _, s, e in seen})
    assert (503, "vector_store_unavailable") in during
    assert after and set(after) == {200}, after
    print(f"\nchroma outage: {len(seen)} chats; during outage {sorted(set(during))}; "
          f"ready again {recovered_at - restarted_at:.1f} s after the restart; then {len(after)} × 200")
