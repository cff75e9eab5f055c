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


@pytest.mark.unit
def test_varied_layouts_parse_back_to_the_tasks_written(tmp_path: Path) -> None:
    """The same tasks written in each of the generator's four layouts parse back to exactly
    those tasks: texts, leads and responsible units, in order."""
    from assistant.bench import LAYOUTS, _plan_text, _task_pool
    from assistant.ingest.index import parse_file
    from assistant.ingest.units import AliasTable

    pool, _ = _task_pool(ROOT / "corpus")
    picked = pool[::5][:12]
    tasks = [(t.heading, t.sentences[0] if t.sentences[0].endswith("。") else t.sentences[0] + "。",
              list(t.lead), [u for u in t.responsible if u not in t.lead]) for t in picked]
    for layout in LAYOUTS:
        path = tmp_path / f"plan-{layout}.txt"
        path.write_text(_plan_text("某县试点方案", "某县人民政府", "某府发〔2024〕1号", "2024-05-06",
                                   "县", tasks, layout, 3), "utf-8")
        _, parsed = parse_file(path, AliasTable())
        assert parsed.layout == ("annex" if layout in ("markdown", "tabs") else "inline"), layout
        got = [(t.text, list(t.lead), list(t.responsible)) for t in parsed.tasks]
        assert got == [(text, lead, resp) for _, text, lead, resp in tasks], layout
        assert [t.number for t in parsed.tasks] == list(range(1, len(tasks) + 1))


@pytest.mark.unit
def test_varied_corpus_recombines_and_is_stable(tmp_path: Path) -> None:
    from assistant.bench import _task_pool, varied_corpus
    from assistant.ingest.index import parse_file
    from assistant.ingest.units import AliasTable

    shorts = varied_corpus(ROOT / "corpus", tmp_path / "a", 12)
    assert len(set(shorts)) == 12
    seed_texts = {t.text for _, parsed in
                  (parse_file(p, AliasTable()) for p in sorted((ROOT / "corpus").glob("*.txt"))) for t in parsed.tasks}
    counts, levels, recombined = set(), set(), 0
    for path in sorted((tmp_path / "a").glob("varied-*.txt")):
        src, parsed = parse_file(path, AliasTable())
        assert parsed.tasks and all(t.lead for t in parsed.tasks), path.name
        assert f"全面落实{len(parsed.tasks)}项" in src.text  # every task written was read back
        counts.add(len(parsed.tasks))
        levels.add(src.plan.region[-1])
        recombined += sum(1 for t in parsed.tasks if t.text not in seed_texts)
    assert len(counts) > 3 and levels == {"县", "区"} and recombined > 50
    assert len(_task_pool(ROOT / "corpus")[0]) > 50
    # plan i does not depend on how many plans are asked for
    varied_corpus(ROOT / "corpus", tmp_path / "b", 5)
    for path in sorted((tmp_path / "b").glob("varied-*")):
        assert path.read_bytes() == (tmp_path / "a" / path.name).read_bytes(), path.name
