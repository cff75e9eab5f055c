"""Durability across a restart, and a reindex while questions are being answered."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .conftest import IndexEnv, ServerProcess, admin_headers, ask

pytestmark = pytest.mark.integration


def test_feedback_survives_restart(server: ServerProcess) -> None:
    with server.client() as c:
        mid = c.post("/api/chat", json=ask()).json()["message_id"]
        assert c.post(
            "/api/feedback", json={"message_id": mid, "rating": "up", "comment": "有用"}
        ).json()["ok"]
    starts = server.starts
    server.restart()  # a new process on the same data_dir
    assert server.starts == starts + 1
    with server.client() as c:
        log = c.get(f"/api/feedback/{mid}", headers=admin_headers()).json()
    assert [(f["rating"], f["comment"]) for f in log["feedback"]] == [("up", "有用")]
    assert log["conversation"]["message_id"] == mid

    # a fresh process answers concurrent first questions (lazy index set-up is not raced)
    def one(_: int) -> int:
        with server.client() as c:
            return c.post("/api/chat", json=ask()).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(one, range(8))) == [200] * 8

    dbs = list(server.data_dir.glob("*.sqlite3"))
    assert len(dbs) == 1
    con = sqlite3.connect(dbs[0])
    try:
        rows = con.execute(
            "SELECT rating, comment FROM feedback WHERE message_id = ?", (mid,)
        ).fetchall()
        logged = con.execute(
            "SELECT status FROM conversations WHERE message_id = ?", (mid,)
        ).fetchall()
    finally:
        con.close()
    assert rows == [("up", "有用")] and logged == [("answered",)]


def test_reindex_while_answering(server: ServerProcess, index_env: IndexEnv) -> None:
    with server.client() as c:
        before = c.get("/readyz").json()["generation"]
    # change the corpus (the alias table is part of the generation id) so a new generation is built
    aliases = index_env.corpus_dir / "aliases.toml"
    aliases.write_text(
        aliases.read_text("utf-8") + "\n# touched by test_reindex_while_answering\n", "utf-8"
    )

    results: list[int | str] = []
    started = threading.Event()

    def ask_repeatedly() -> None:
        with server.client() as c:
            for i in range(20):  # bounded
                try:
                    results.append(c.post("/api/chat", json=ask()).status_code)
                except httpx.HTTPError as exc:
                    results.append(repr(exc))
                if i == 1:
                    started.set()
        started.set()

    worker = threading.Thread(target=ask_repeatedly)
    worker.start()
    started.wait(30)
    with server.client(timeout=120) as c:
        r = c.post("/api/admin/reindex", headers=admin_headers())
    worker.join(120)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["reused"] is False and summary["generation"] != before and summary["tasks"] > 0
    assert summary["message"]
    assert results == [200] * 20, results
    with server.client() as c:
        assert c.get("/readyz").json()["generation"] == summary["generation"]
        assert c.post("/api/chat", json=ask()).status_code == 200
        again = c.post("/api/admin/reindex", headers=admin_headers()).json()
    assert again["reused"] is True and again["generation"] == summary["generation"]
