"""The README's examples work as written: every shell command in its ```bash blocks and
every ```python block runs against a live loopback server (the README's 127.0.0.1:8000
becomes the test server's port) in a scratch directory whose .venv is this one.

A command is skipped only for a reason listed in SKIP (it starts a server, waits for
typed input, runs the whole eval or the test suite itself, or changes the environment of
the shell it is typed in); anything else that the README gains is run. `curl` runs with
--fail-with-body, so an HTTP error fails the test, as it would fail the reader."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import IndexEnv, ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_ORIGIN = "http://127.0.0.1:8000"

SKIP = {
    r"^make (run|test|eval|screenshots)\b": "the README's own top-level targets (servers, the test suite)",
    r"^\.venv/bin/assistant (serve|chat|eval)\b": "starts a server, waits for typed input, or runs the evals",
    r"^export ASSISTANT_LLM_": "configures an external LLM for the reader's own shell",
}


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README.read_text("utf-8"), re.S | re.M)


def shell_commands() -> list[str]:
    out = []
    for block in blocks("bash"):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip() and not command.lstrip().startswith("#"):
                out.append(command.strip())
    return out


def skip_reason(command: str) -> str | None:
    return next((why for pat, why in SKIP.items() if re.search(pat, command)), None)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the commands run: nothing they write lands in the checkout."""
    root = tmp_path_factory.mktemp("readme")
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    # the commands read plan files by the paths the README gives them (read-only)
    (root / "corpus").symlink_to(Path(__file__).resolve().parents[2] / "corpus", target_is_directory=True)
    return root


def run_shell(command: str, server: ServerProcess, index_env: IndexEnv, cwd: Path) -> str:
    script = command.replace(README_ORIGIN, server.url)
    prelude = 'curl() { command curl --fail-with-body --max-time 60 "$@"; }\n'
    env = {**index_env.env, "ASSISTANT_DATA_DIR": str(cwd / "data")}
    done = subprocess.run(
        ["bash", "-c", prelude + script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"{command}\n--- exit {done.returncode}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    )
    return done.stdout


def test_readme_has_examples_and_every_skip_is_explained() -> None:
    commands = shell_commands()
    assert any(c.startswith("curl") for c in commands)
    assert any(c.startswith(".venv/bin/assistant tasks") for c in commands)
    run = [c for c in commands if not skip_reason(c)]
    for start in ("curl -s -G", "curl -N", ".venv/bin/assistant ask", ".venv/bin/assistant ingest"):
        assert any(c.startswith(start) for c in run), start


@pytest.mark.parametrize("command", [c for c in shell_commands() if not skip_reason(c)])
def test_shell_example(
    command: str, server: ServerProcess, index_env: IndexEnv, scratch: Path
) -> None:
    out = run_shell(command, server, index_env, scratch)
    if command.startswith("curl") and " -o " not in command:
        assert out.strip(), command
    for name in re.findall(r"(?:-o|--output) (\S+)", command):
        data = (scratch / name).read_bytes()
        assert data[:2] == b"PK", f"{name} is not an xlsx file"  # a zip container


@pytest.mark.parametrize("code", blocks("python"))
def test_python_example(
    code: str, server: ServerProcess, index_env: IndexEnv, scratch: Path
) -> None:
    path = scratch / "example.py"
    path.write_text(code.replace(README_ORIGIN, server.url), "utf-8")
    done = subprocess.run(
        [sys.executable, str(path)],
        env={**index_env.env, "PYTHONPATH": os.pathsep.join(sys.path)},
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip()
