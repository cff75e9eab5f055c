"""The command line as a user types it: `assistant chat` commands (/help, /plan, /export)
and `assistant ask --json`, against a small index built for this module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {
        "ASSISTANT_EMBED_MODE": "hash",
        "ASSISTANT_CORPUS_DIR": str(ROOT / "corpus"),
        "ASSISTANT_INDEX_DIR": str(root / "index"),
        "ASSISTANT_DATA_DIR": str(root / "data"),
        "ASSISTANT_LLM_BASE_URL": "",
    }
    run(env, root, "ingest", "--quiet")
    return env


def run(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_chat_commands(env: dict[str, str], tmp_path: Path) -> None:
    typed = "\n".join(
        [
            "/help",
            "/export",  # nothing to export yet
            "/plan",
            "/plan nope",
            "/plan shizhu-2022",
            "县商务委牵头哪些任务？",
            "/export 清单.xlsx",
            "/export 清单.csv",
            "/export 清单.pdf",
            "/foo",
            "/quit",
        ]
    )
    out = run(env, tmp_path, "chat", stdin=typed + "\n")
    assert "/plan 方案编号" in out and "/export" in out  # the help
    assert "还没有可导出的任务清单" in out
    assert "当前：全部方案" in out and "shizhu-2022" in out
    assert "没有方案 nope" in out
    assert "已切换到方案 shizhu-2022" in out
    assert "县商务委" in out and "输入 /export" in out
    assert "未知命令 /foo" in out and "扩展名" in out
    # /help was not sent as a question, and the list only has tasks of the chosen plan
    assert out.count("助手：") == 1
    rows = list(
        load_workbook(tmp_path / "清单.xlsx", read_only=True).active.iter_rows(values_only=True)
    )
    assert rows[0][0] == "方案" and len(rows) > 1
    assert {r[0] for r in rows[1:]} == {r[0] for r in rows[1:] if "石柱" in str(r[0])}
    assert all("县商务委" in str(r[4]) for r in rows[1:])
    assert (tmp_path / "清单.csv").read_text("utf-8-sig").count("\n") == len(rows)
    assert not (tmp_path / "清单.pdf").exists()
