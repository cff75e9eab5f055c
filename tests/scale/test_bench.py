"""`assistant bench --quick` runs end to end into a temporary directory and writes a report
with every section (figures are printed, never asserted: speed goals are benchmarks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.bench import synthetic_corpus
from tests.conftest import ROOT

pytestmark = [pytest.mark.integration]


def test_bench_quick_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "bench", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (out / "benchmarks.md").read_text("utf-8")
    for heading in (
        "Command:", "Machine:", "## Latency by question kind", "Question mix:",
        "Repeated questions", "## HTTP", "| embedding threads | clients |", "## Ingest", "passages/s", "| embedding threads |", "## Scaling with the number of plans",
        "Adding one plan",
    ):
        assert heading in text, heading
    assert "| **all** |" in text
    http_rows = [line for line in text.splitlines() if line.startswith("| 1 | ")]
    assert [row.split(" | ")[1] for row in http_rows] == ["1", "8", "16"], http_rows
    assert all(row.split(" | ")[3] == "0" for row in http_rows), http_rows  # no request failed
    assert (out / "benchmarks-scaling.png").stat().st_size > 1000


@pytest.mark.unit
def test_synthetic_corpus_invents_regions(tmp_path: Path) -> None:
    seeds = sorted((ROOT / "corpus").glob("*.toml"))
    seed_shorts = {line.split("=", 1)[1].strip().strip('"') for p in seeds
                   for line in p.read_text("utf-8").splitlines() if line.startswith("short_name")}
    shorts = synthetic_corpus(ROOT / "corpus", tmp_path, 5)
    assert len(set(shorts)) == 5 and not set(shorts) & seed_shorts
    texts = [p.read_text("utf-8") for p in sorted(tmp_path.glob("synth-*.txt"))]
    assert len(texts) == 5
    for short, text in zip(shorts, texts, strict=True):
        assert short in text
        assert not any(s in text for s in seed_shorts)
