"""Ingest end to end: real Chroma, real embeddings, no network, atomic swaps."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.ingest.index import build_index, current_generation
from assistant.retrieval.store import IndexStore
from tests.conftest import ROOT, make_settings

pytestmark = pytest.mark.integration


def test_ingest_offline_builds_everything(index_settings) -> None:  # type: ignore[no-untyped-def]
    # index_settings was built with every non-loopback connection refused (conftest guard)
    store = IndexStore.open(index_settings)
    assert sorted(store.plans) == ["dianjiang-2021", "shizhu-2022"]
    assert len(store.tasks) == 66
    assert store.collection().count() == len(store.chunks)
    kinds = {c.kind for c in store.chunks.values()}
    assert {"task", "body", "header"} <= kinds
    hits = store.lexical().search("外资旅行社", 3, {"shizhu-2022"})
    assert hits[0][0].task_number == 31


def test_reingest_unchanged_is_reused_and_changed_plan_swaps(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    settings = make_settings(tmp_path, corpus_dir=corpus, embed_mode="hash")
    first = build_index(settings)
    again = build_index(settings)
    assert again.reused and again.generation == first.generation and again.seconds < 2
    plan = corpus / "dianjiang-2021.txt"
    plan.write_text(plan.read_text("utf-8").replace("县法院、县公安局)", "县法院)"), "utf-8")
    changed = build_index(settings)
    assert changed.generation != first.generation and not changed.reused
    assert current_generation(settings.index_dir) == changed.generation
    store = IndexStore.open(settings)
    assert store.task("dianjiang-2021", 10).responsible == ("县法院",)
    # the previous generation stays readable for queries that began before the swap
    assert (settings.index_dir / "gens" / first.generation / "tables.json").exists()


def test_cli_tasks_acceptance(index_settings) -> None:  # type: ignore[no-untyped-def]
    env = {"ASSISTANT_INDEX_DIR": str(index_settings.index_dir), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> list[dict]:
        out = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "tasks", *args, "--json"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=ROOT,
        )
        return json.loads(out.stdout)

    lead = run("--unit", "卫健委", "--plan", "shizhu-2022", "--role", "lead")
    assert [t["number"] for t in lead] == [13, 14, 15, 16, 20]
    assert all({"plan_id", "number", "text", "lead", "responsible"} <= t.keys() for t in lead)
    assert [t["number"] for t in run("--unit", "县教委", "--plan", "shizhu-2022")] == [6, 7, 8]
    bad = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "tasks", "--unit", "气象局"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "没有找到单位" in bad.stderr


def test_broken_plan_file_refuses_the_build(tmp_path: Path) -> None:
    """A file that cannot be read is an error naming it, not a plan silently left out
    (issue 13); tests/ingest/test_ingest_safety.py checks the serving index stays."""
    from assistant.ingest.index import IngestError

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 nonsense")
    with pytest.raises(IngestError, match=r"broken\.pdf.*PDF"):
        build_index(make_settings(tmp_path, corpus_dir=corpus, embed_mode="hash"))
    assert current_generation(tmp_path / "index") is None


def test_forced_rebuild_is_a_new_generation_and_keeps_the_live_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, embed_mode="hash")
    first = build_index(settings)
    store = IndexStore.open(settings)
    forced = build_index(settings, force=True)
    assert forced.generation != first.generation and not forced.reused
    assert store.collection().count() == len(store.chunks)  # the old generation still answers
    assert IndexStore.open(settings).generation == forced.generation


def test_settings_overrides_are_validated(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from assistant.settings import load_settings

    s = load_settings({"ASSISTANT_PORT": "9001"}, index_dir=str(tmp_path))
    assert s.port == 9001 and s.index_dir == tmp_path
    with pytest.raises(ValidationError):
        load_settings({}, port="not-a-port")
