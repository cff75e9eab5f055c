"""Ingest keeps what it has: every bad-corpus case is an error naming the file, `ingest` exits
non-zero, and the serving index stays exactly as it was (real Chroma, hash embeddings)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.ingest.index import IngestError, build_index, current_generation
from assistant.retrieval.store import IndexStore
from tests.conftest import ROOT, make_settings

pytestmark = pytest.mark.integration


def _gbk_toml(c: Path) -> None:
    (c / "shizhu-2022.toml").write_bytes('title = "石柱县方案"\n'.encode("gbk"))


def _typed_toml(c: Path) -> None:
    meta = c / "dianjiang-2021.toml"
    meta.write_text(
        meta.read_text("utf-8").replace('name_en = "Dianjiang"', "name_en = 7"), "utf-8"
    )


def _half_lost(c: Path) -> None:
    plan = c / "shizhu-2022.txt"
    lines = plan.read_text("utf-8").splitlines()
    cut = next(i for i, ln in enumerate(lines) if ln.strip() == "21")  # rows 21… gone
    plan.write_text("\n".join(lines[:cut]) + "\n", "utf-8")


def _all_lost(c: Path) -> None:
    plan = c / "dianjiang-2021.txt"  # the notice and goals only: every task cut away
    plan.write_text("\n".join(plan.read_text("utf-8").splitlines()[:60]) + "\n", "utf-8")


CASES: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "duplicate id",
        lambda c: (
            shutil.copy(c / "dianjiang-2021.txt", c / "impostor.txt"),
            (c / "impostor.toml").write_text('id = "shizhu-2022"\n', "utf-8"),
        ),
        "impostor.txt.*shizhu-2022",
    ),
    (
        "unsafe id",
        lambda c: (
            shutil.copy(c / "dianjiang-2021.txt", c / "escape.txt"),
            (c / "escape.toml").write_text('id = "../../x"\n', "utf-8"),
        ),
        "escape.toml.*不可用",
    ),
    (
        "emptied file",
        lambda c: (c / "dianjiang-2021.txt").write_text(" \n\n", "utf-8"),
        "dianjiang-2021.txt.*文件为空",
    ),
    ("scanned pdf", lambda c: (c / "scan.pdf").write_bytes(b"%PDF-1.4 nonsense"), "scan.pdf.*PDF"),
    ("gbk toml", _gbk_toml, "shizhu-2022.toml.*UTF-8"),
    ("ill-typed toml", _typed_toml, "dianjiang-2021.toml.*name_en"),
    ("lost half the tasks", _half_lost, "shizhu-2022.txt.*55 项 → 20 项.*--force"),
    ("lost all tasks", _all_lost, "dianjiang-2021.txt.*全部任务.*11 项 → 0 项"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("safety")
    shutil.copytree(ROOT / "corpus", root / "corpus")
    build_index(make_settings(root, corpus_dir=root / "corpus", embed_mode="hash"))
    return root


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_corpus_is_refused_and_the_index_stays(built: Path, tmp_path: Path, case) -> None:  # type: ignore[no-untyped-def]
    _, damage, pattern = case
    corpus = tmp_path / "corpus"
    shutil.copytree(built / "corpus", corpus)
    settings = make_settings(built, corpus_dir=corpus, embed_mode="hash")
    live = current_generation(settings.index_dir)
    tables = (settings.index_dir / "gens" / str(live) / "tables.json").read_text("utf-8")
    damage(corpus)
    with pytest.raises(IngestError, match=pattern):
        build_index(settings)
    assert current_generation(settings.index_dir) == live
    store = IndexStore.open(settings)
    assert len(store.tasks) == 66 and store.task("shizhu-2022", 55) is not None
    assert (settings.index_dir / "gens" / str(live) / "tables.json").read_text("utf-8") == tables
    assert not (built / "x").exists() and not (built.parent / "x").exists()


def test_force_accepts_a_shrunken_plan(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    settings = make_settings(tmp_path, corpus_dir=corpus, embed_mode="hash")
    build_index(settings)
    _half_lost(corpus)
    with pytest.raises(IngestError):
        build_index(settings)
    summary = build_index(settings, force=True)
    assert summary.tasks == 11 + 20 and any("--force" in i for i in summary.issues)


def test_cli_ingest_exit_code_inspect_and_tasks_by_plan(built: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(built / "corpus", corpus)
    (corpus / "dianjiang-2021.txt").write_text("", "utf-8")
    env = {
        "ASSISTANT_INDEX_DIR": str(built / "index"),
        "ASSISTANT_CORPUS_DIR": str(corpus),
        "ASSISTANT_EMBED_MODE": "hash",
        "PATH": "/usr/bin:/bin",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "assistant.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )

    live = current_generation(built / "index")
    bad = cli("ingest", "--quiet")
    assert bad.returncode == 2 and "dianjiang-2021.txt" in bad.stderr and "保持不变" in bad.stderr
    assert current_generation(built / "index") == live
    for name, count in (("dianjiang-2021.txt", 11), ("shizhu-2022.txt", 55)):
        out = cli("inspect", str(ROOT / "corpus" / name))
        assert out.returncode == 0, out.stderr
        assert f"任务 {count} 项" in out.stdout and "警告 0 条，错误 0 条" in out.stdout
        data = json.loads(cli("inspect", str(ROOT / "corpus" / name), "--json").stdout)
        assert [t["number"] for t in data["tasks"]] == list(range(1, count + 1))
        assert data["issues"] == []
    listed = json.loads(cli("tasks", "--plan", "shizhu-2022", "--json").stdout)
    assert [t["number"] for t in listed] == list(range(1, 56)) and "deadline" in listed[0]
    shown = cli("inspect", str(ROOT / "tests/fixtures/formats/table_missing_cell.txt"))
    assert shown.returncode == 2 and "第15行" in shown.stdout
