"""Scale-out: the same code against a real Chroma server (`chroma run` on loopback),
with two processes sharing it: ingest in one, questions from another."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answer.assistant import Assistant
from assistant.ingest.index import build_index
from assistant.settings import Settings
from tests.conftest import ROOT, make_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not CHROMA.exists():
        pytest.skip("chroma CLI not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma server did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def server_settings(tmp: Path, port: int) -> Settings:
    # hash embeddings keep this test fast; the server path is what is under test
    return make_settings(tmp, chroma_host="127.0.0.1", chroma_port=port, embed_mode="hash")


def test_ingest_and_answer_through_chroma_server(chroma_server: int, tmp_path: Path) -> None:
    settings = server_settings(tmp_path, chroma_server)
    summary = build_index(settings)
    assert (
        summary.tasks == 66 and not (settings.index_dir / "chroma").exists()
    )  # nothing embedded locally
    answer = Assistant(settings).answer([{"role": "user", "content": "外资旅行社由谁牵头？"}])
    assert answer.citations[0].task_number == 31 and "县文化旅游委" in answer.answer
    # a second process sees the same index through the server
    code = (
        "from assistant.answer.assistant import Assistant; from assistant.settings import load_settings;"
        f"s = load_settings({{}}, index_dir={str(settings.index_dir)!r}, chroma_host='127.0.0.1',"
        f" chroma_port={chroma_server}, embed_mode='hash', corpus_dir={str(ROOT / 'corpus')!r});"
        "a = Assistant(s).answer([{'role': 'user', 'content': '我是香港医生，想在石柱开诊所'}]);"
        "print(a.citations[0].plan_id, a.citations[0].task_number)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.split() == ["shizhu-2022", "13"]
    # a rebuild swaps generations on the server too; the old collection is pruned later
    again = build_index(settings, force=True)
    assert again.generation != summary.generation
    assert (
        Assistant(settings).answer([{"role": "user", "content": "县教委牵头哪些任务"}]).status
        == "answered"
    )
