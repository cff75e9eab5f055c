"""`assistant bench`: one run that measures answers and writes docs/benchmarks.md.

Sections (each printed and written):
- the machine (CPU count, Python, platform), the command, the embedding mode;
- latency by question kind (p50/p95/p99), ours and the plain llama-index baseline side by
  side with ratios, on the hand-written eval questions (evals/questions/*.jsonl, first turn,
  grouped by their `kind`). Warm-up answers other questions (the blind sets), so models,
  indexes and code paths are loaded but no timed question hits a query-vector cache;
- repeated questions: the timed questions asked again (answers kept per index generation);
- HTTP: a real `assistant serve` on loopback, `/api/chat` at 1/8/16 concurrent clients
  (p50/p95/p99, req/s, errors, server CPU per request from /proc, server RSS), with 1 and 2
  embedding threads; a fresh server per row, so no timed question is a cache hit;
- ingest passages/s (cold ingest of the synthetic corpora) and what adding one plan embeds;
- a scaling curve: N synthetic plans (`synthetic_corpus`: the seeds with invented region names,
  document numbers and dates; task texts are not recombined), p50/p95/max per N,
  with a PNG plot (matplotlib).

`--quick` (CI): hash embeddings, N = 2 only, a few questions per kind; it checks that the
pipeline runs, its figures are not the product's.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings import Settings, load_settings

QUESTION_SETS = ("business", "civil_servant", "compare_facts", "holdout", "unanswerable")
WARMUP_SETS = ("blind2", "blind3")  # scored blind sets only (never one not yet scored): no timed question is a cache hit
REGION_CHARS = "青禾安澜云溪松岭白沙丰乐长宁永和泰平桐梓柳江明月金川银湖北辰南屏东篱西岑"


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


@dataclass
class Question:
    kind: str
    text: str


def eval_questions(root: Path, per_kind: int | None = None, sets: tuple[str, ...] = QUESTION_SETS) -> list[Question]:
    """First turns of the hand-written eval questions, with their kind."""
    out: list[Question] = []
    counts: dict[str, int] = {}
    for name in sets:
        path = root / "evals" / "questions" / f"{name}.jsonl"
        if not path.exists():
            continue
        for line in path.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            turns, kind = case.get("turns") or [], case.get("kind") or "other"
            if not turns or not isinstance(turns[0], str):
                continue
            if per_kind is not None and counts.get(kind, 0) >= per_kind:
                continue
            counts[kind] = counts.get(kind, 0) + 1
            out.append(Question(kind, turns[0]))
    return out


def _seed_plans(corpus: Path) -> list[tuple[dict[str, Any], str]]:
    seeds = []
    for meta_path in sorted(corpus.glob("*.toml")):
        txt = meta_path.with_suffix(".txt")
        meta = tomllib.loads(meta_path.read_text("utf-8"))
        if txt.exists() and "region" in meta and "short_name" in meta:
            seeds.append((meta, txt.read_text("utf-8")))
    return seeds


def _letters(i: int) -> str:
    """0 → aaa, 1 → aab, …: a digit-free code."""
    out = ""
    for _ in range(3):
        i, r = divmod(i, 26)
        out = chr(97 + r) + out
    return out


def synthetic_corpus(seed_corpus: Path, out: Path, n: int, seed: int = 7) -> list[str]:
    """Write n plans in the seeds' formats under `out`: each a seed with an invented region
    (name, short name), document number and date; the curated alias and synonym files are
    copied. Returns the short names."""
    rng = random.Random(seed)
    seeds = _seed_plans(seed_corpus)
    if not seeds:
        raise ValueError(f"{seed_corpus} 中没有带元数据的方案")
    out.mkdir(parents=True, exist_ok=True)
    for extra in ("aliases.toml", "synonyms.toml"):
        if (seed_corpus / extra).exists():
            shutil.copy(seed_corpus / extra, out / extra)
    used: set[str] = {m["short_name"] for m, _ in seeds}
    shorts = []
    for i in range(n):
        meta, text = seeds[i % len(seeds)]
        while True:
            short = "".join(rng.sample(REGION_CHARS, 2))
            if short not in used:
                used.add(short)
                break
        level = meta["region"][-1]
        region = short + level
        body = text.replace(meta["region"], region).replace(meta["short_name"], short)
        year = 2018 + rng.randrange(8)
        code = _letters(i)  # no digits: a plan's id and English name must not read as numbers
        new = {
            **meta,
            "id": f"synth-{code}",
            "title": str(meta["title"]).replace(meta["short_name"], short),
            "issuer": str(meta["issuer"]).replace(meta["region"], region).replace(meta["short_name"], short),
            "region": region,
            "short_name": short,
            "name_en": f"Synth {code.upper()}",
            "doc_number": f"{short}府发〔{year}〕{rng.randrange(1, 60)}号" if meta.get("doc_number") else "",
            "issued": f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        }
        (out / f"synth-{code}.txt").write_text(body, "utf-8")
        (out / f"synth-{code}.toml").write_text(
            "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in new.items()), "utf-8"
        )
        shorts.append(short)
    return shorts


def _time(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def _ask(assistant: Any, text: str) -> Callable[[], Any]:
    return lambda: assistant.answer([{"role": "user", "content": text}])


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        for line in lines:
            print(line, flush=True)
            self.lines.append(line)


def _stats(ms: list[float]) -> str:
    return f"{pct(ms, 50):.1f} / {pct(ms, 95):.1f} / {pct(ms, 99):.1f}"


def _latency_by_kind(
    report: Report, settings: Settings, questions: list[Question], warmup: list[str], baseline: bool
) -> dict[str, Any]:
    from .answer.assistant import Assistant

    ours = Assistant(settings)
    base = None
    if baseline:
        from .evals.baseline import Baseline

        base = Baseline(settings)
    # warm-up: other questions (the blind sets), so that no timed question is a cache hit
    timed = {q.text for q in questions}
    for text in (t for t in warmup if t not in timed):
        ours.answer([{"role": "user", "content": text}])
        if base is not None:
            base.answer([{"role": "user", "content": text}])
    by_kind: dict[str, tuple[list[float], list[float]]] = {}
    for q in questions:
        ms_ours = _time(_ask(ours, q.text))
        ms_base = _time(_ask(base, q.text)) if base is not None else float("nan")
        by_kind.setdefault(q.kind, ([], []))
        by_kind[q.kind][0].append(ms_ours)
        by_kind[q.kind][1].append(ms_base)
    all_ours = [x for xs, _ in by_kind.values() for x in xs]
    all_base = [x for _, xs in by_kind.values() for x in xs]
    report.add(
        "| kind | n | ours p50 / p95 / p99 ms | baseline p50 / p95 / p99 ms | p50 ratio | p95 ratio |",
        "|---|---|---|---|---|---|",
    )
    for kind, (a, b) in [*sorted(by_kind.items()), ("**all**", (all_ours, all_base))]:
        r50 = pct(a, 50) / pct(b, 50) if base else float("nan")
        r95 = pct(a, 95) / pct(b, 95) if base else float("nan")
        report.add(f"| {kind} | {len(a)} | {_stats(a)} | {_stats(b) if base else '—'} | {r50:.2f}× | {r95:.2f}× |")
    if base is not None:
        report.add(
            "",
            f"Whole mix, total time: ours {sum(all_ours) / 1000:.2f} s, baseline {sum(all_base) / 1000:.2f} s "
            f"(ratio {sum(all_ours) / sum(all_base):.2f}×; mean {statistics.fmean(all_ours):.1f} ms vs "
            f"{statistics.fmean(all_base):.1f} ms per question).",
        )
    # repeated questions: the same texts again (answers kept per index generation)
    repeated = [_time(_ask(ours, q.text)) for q in questions]
    report.add(
        "",
        f"Repeated questions (the {len(questions)} timed questions asked again): "
        f"p50 {pct(repeated, 50):.1f} ms, p95 {pct(repeated, 95):.1f} ms, max {max(repeated):.1f} ms.",
    )
    return {"ours": all_ours, "baseline": all_base, "repeated": repeated}


def _scaling(report: Report, base_settings: Settings, sizes: list[int], work: Path, per_plan_q: int) -> list[dict[str, Any]]:
    from .answer.assistant import Assistant
    from .ingest.index import build_index

    root = Path(__file__).resolve().parent.parent
    seed_questions = eval_questions(root)
    warm_questions = eval_questions(root, sets=WARMUP_SETS)
    seeds = _seed_plans(base_settings.corpus_dir)
    rows = []
    for n in sizes:
        corpus, index = work / f"corpus-{n}", work / f"index-{n}"
        shorts = synthetic_corpus(base_settings.corpus_dir, corpus, n)
        settings = _with(base_settings, corpus_dir=corpus, index_dir=index, aliases_file=None)
        summary = build_index(settings)
        rate = summary.chunks / summary.seconds if summary.seconds else float("nan")
        assistant = Assistant(settings)
        rng = random.Random(n)

        def aimed(qs: list[Question], rng: random.Random = rng, shorts: list[str] = shorts) -> list[str]:
            out = []  # each question aimed at a random synthetic plan
            for q in qs:
                short, t = rng.choice(shorts), q.text
                for meta, _ in seeds:
                    t = t.replace(meta["short_name"], short)
                out.append(t)
            return out

        texts = aimed(seed_questions)[:per_plan_q]
        for t in aimed(warm_questions)[:per_plan_q]:  # warm-up: other questions
            if t not in texts:
                assistant.answer([{"role": "user", "content": t}])
        ms = [_time(_ask(assistant, t)) for t in texts]
        rows.append(
            {"n": n, "chunks": summary.chunks, "units": summary.units, "ingest_s": summary.seconds,
             "passages_per_s": rate, "p50": pct(ms, 50), "p95": pct(ms, 95), "max": max(ms), "q": len(ms)}
        )
        report.add(
            f"| {n} | {summary.chunks} | {summary.units} | {summary.seconds:.1f} | {rate:.1f} | "
            f"{len(ms)} | {pct(ms, 50):.1f} | {pct(ms, 95):.1f} | {max(ms):.1f} |"
        )
    return rows


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _process_tree(pid: int) -> list[int]:
    """A process and its descendants (uvicorn workers), from /proc."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree (/proc/PID/stat), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def _rss_mb(pid: int) -> float:
    total = 0
    for p in _process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Server:
    """`assistant serve` in a child process on a free loopback port (rate limit lifted)."""

    def __init__(self, settings: Settings, work: Path, embed_threads: int = 1, workers: int = 1):
        import subprocess

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") and k != "OMP_NUM_THREADS"}
        env.update(
            ASSISTANT_INDEX_DIR=str(settings.index_dir), ASSISTANT_CORPUS_DIR=str(settings.corpus_dir),
            ASSISTANT_EMBED_MODE=settings.embed_mode, ASSISTANT_EMBED_THREADS=str(embed_threads),
            ASSISTANT_DATA_DIR=str(work / f"data-{self.port}"), ASSISTANT_LLM_BASE_URL="",
            ASSISTANT_RATE_LIMIT_PER_MINUTE="1000000", ASSISTANT_RATE_LIMIT_BURST="1000000",
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def __enter__(self) -> Server:
        import httpx

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"assistant serve exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("assistant serve did not become ready")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except Exception:
            self.proc.kill()


def _http_load(url: str, texts: list[str], clients: int) -> tuple[list[float], int, float]:
    """Each text POSTed to /api/chat once, by `clients` threads: (latencies ms, errors, wall s)."""
    import threading

    import httpx

    todo = iter(texts)
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=60) as c:
            while True:
                with lock:
                    text = next(todo, None)
                if text is None:
                    return
                t = time.perf_counter()
                try:
                    ok = c.post("/api/chat", json={"messages": [{"role": "user", "content": text}]}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(ms)
                    errors += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies, errors, time.perf_counter() - started


def _http(
    report: Report, settings: Settings, work: Path, questions: list[Question], warmup: list[str],
    levels: tuple[int, ...] = (1, 8, 16), threads: tuple[int, ...] = (1, 2),
) -> list[dict[str, Any]]:
    """/api/chat on a real `assistant serve` (1 worker) at each client count: a fresh server per
    row, warmed with the warm-up questions, then every timed question once (no cache hit)."""
    texts = [q.text for q in questions]
    random.Random(12).shuffle(texts)  # kinds spread over the clients
    timed = set(texts)
    warm = [t for t in warmup if t not in timed]
    rows = []
    for n_threads in threads:
        for clients in levels:
            with Server(settings, work, embed_threads=n_threads) as server:
                _http_load(server.url, warm, 1)
                cpu0 = _cpu_seconds(server.proc.pid)
                ms, errors, wall = _http_load(server.url, texts, clients)
                cpu = _cpu_seconds(server.proc.pid) - cpu0
                rss = _rss_mb(server.proc.pid)
            row = {"threads": n_threads, "clients": clients, "n": len(ms), "errors": errors,
                   "rps": len(ms) / wall, "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99),
                   "cpu_ms": cpu * 1000 / max(1, len(ms)), "rss": rss}
            rows.append(row)
            report.add(
                f"| {n_threads} | {clients} | {row['n']} | {errors} | {row['rps']:.1f} | "
                f"{row['p50']:.1f} / {row['p95']:.1f} / {row['p99']:.1f} | {row['cpu_ms']:.1f} | {rss:.0f} |"
            )
    return rows


def _with(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


def _add_one_plan(report: Report, base_settings: Settings, work: Path, n: int) -> None:
    """Grow the N-plan corpus by one plan and re-ingest: how many passages are embedded."""
    from .ingest.index import build_index

    corpus, index = work / f"corpus-{n}", work / f"index-{n}"
    tmp = work / "grow"
    synthetic_corpus(base_settings.corpus_dir, tmp, n + 1)
    last = f"synth-{_letters(n)}"
    for ext in ("txt", "toml"):
        shutil.copy(tmp / f"{last}.{ext}", corpus / f"{last}.{ext}")
    settings = _with(base_settings, corpus_dir=corpus, index_dir=index, aliases_file=None)
    summary = build_index(settings)
    report.add(
        f"Adding one plan to the {n}-plan index: {summary.chunks} passages in all, "
        f"{summary.embedded} embedded anew, {summary.seconds:.1f} s "
        "(embeddings are cached per plan by content under index/cache/: only the new plan is embedded)."
    )


def _cli_ingest(settings: Settings, corpus: Path, index: Path, threads: int | None) -> tuple[int, float]:
    """`assistant ingest` in a fresh process (threads: None = its default): (passages, seconds)."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("ASSISTANT_EMBED_THREADS", "OMP_NUM_THREADS")}
    env.update(
        ASSISTANT_CORPUS_DIR=str(corpus), ASSISTANT_INDEX_DIR=str(index),
        ASSISTANT_EMBED_MODE=settings.embed_mode,
    )
    if threads is not None:
        env["ASSISTANT_EMBED_THREADS"] = str(threads)
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", "--quiet"],
        env=env, capture_output=True, text=True, check=True,
    )
    m = re.search(r"(\d+) 个片段，用时 ([\d.]+) 秒", proc.stdout)
    if not m:
        raise RuntimeError(proc.stdout + proc.stderr)
    return int(m.group(1)), float(m.group(2))


def _plot(rows: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    ns = [r["n"] for r in rows]
    for key in ("p50", "p95", "max"):
        ax.plot(ns, [r[key] for r in rows], marker="o", label=key)
    ax.set_xscale("log")
    ax.set_xlabel("plans (synthetic)")
    ax.set_ylabel("answer latency (ms)")
    ax.set_title("In-process answer latency by corpus size")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def run_bench(
    settings: Settings,
    out_dir: Path,
    quick: bool = False,
    sizes: list[int] | None = None,
    command: str = "",
) -> Path:
    """Run every section, print it, and write out_dir/benchmarks.md (+ the PNG)."""
    root = Path(__file__).resolve().parent.parent
    settings = _with(settings, llm_base_url=None)  # extractive mode: the answer path itself
    if quick:
        settings = _with(settings, embed_mode="hash")
    sizes = sizes or ([2] if quick else [2, 20])
    report = Report()
    report.add(
        "# Benchmarks",
        "",
        f"Command: `{command or 'assistant bench'}`",
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}; "
        f"embedding `{settings.embed_mode}`, extractive answers (no LLM), in-process.",
        "",
    )
    if quick:
        report.add("**Quick run** (CI smoke: hash embeddings, few questions): figures are not the product's.", "")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        work = Path(tmp)
        # the two seed plans: in a scratch index (the serving index is never touched)
        two = _with(settings, index_dir=work / "index-seeds")
        from .ingest.index import build_index

        summary = build_index(two)
        cli_runs = [
            (label, *_cli_ingest(settings, settings.corpus_dir, work / f"index-cli-{label}", threads))
            for label, threads in (("1 thread", 1), (f"default ({os.cpu_count()} CPUs)", None))
        ]
        questions = eval_questions(root, per_kind=2 if quick else None)
        kinds: dict[str, int] = {}
        for q in questions:
            kinds[q.kind] = kinds.get(q.kind, 0) + 1
        report.add(
            "## Latency by question kind (two seed plans)",
            "",
            f"Question mix: first turns of evals/questions/{{{','.join(QUESTION_SETS)}}}.jsonl, "
            + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
            + f" ({len(questions)} in all). Warm-up: the first turns of evals/questions/"
            f"{{{','.join(WARMUP_SETS)}}}.jsonl, answered by both systems before timing (loads models, "
            "indexes and code paths; no timed question is a query-vector cache hit). Baseline: llama-index "
            "VectorStoreIndex top-5 over the same corpus and embedding (assistant/evals/baseline.py). "
            "Ratio = ours / baseline.",
            "",
        )
        warmup = [q.text for q in eval_questions(root, per_kind=2 if quick else None, sets=WARMUP_SETS)]
        lat = _latency_by_kind(report, two, questions, warmup, baseline=True)
        http_index = work / "index-http"  # its own copy: one embedded Chroma per process
        shutil.copytree(two.index_dir, http_index)
        report.add(
            "",
            "## HTTP",
            "",
            f"`assistant serve` (1 worker) on loopback, `POST /api/chat`: the {len(questions)} questions above, "
            "each once, shared out over N client threads in this process (which competes for the same "
            f"{os.cpu_count()} CPUs); a fresh server for each row, warmed with the warm-up questions. "
            "Server CPU = user + system time of the server process (/proc) during the timed requests, "
            "divided by the requests. Embedding threads = ASSISTANT_EMBED_THREADS of the server.",
            "",
            "| embedding threads | clients | requests | errors | req/s | p50 / p95 / p99 ms | server CPU ms/request | server RSS MB |",
            "|---|---|---|---|---|---|---|---|",
        )
        http_rows = _http(report, _with(two, index_dir=http_index), work, questions, warmup,
                          threads=(1,) if quick else (1, 2))
        report.add(
            "",
            "## Ingest",
            "",
            "Two seed plans, cold, `assistant ingest` in a fresh process (ingest embeds on every core "
            "unless ASSISTANT_EMBED_THREADS is set; the vectors are bit-identical):",
            "",
            "| embedding threads | passages | seconds | passages/s |",
            "|---|---|---|---|",
            *(f"| {label} | {n} | {sec:.1f} | {n / sec:.1f} |" for label, n, sec in cli_runs),
            "",
            f"In-process (the answer path's 1 thread): {summary.chunks} passages in {summary.seconds:.1f} s "
            f"({summary.chunks / summary.seconds:.1f} passages/s). The scaling table below ingests in-process too.",
            "",
            "## Scaling with the number of plans",
            "",
            "Synthetic plans: the seeds with invented region names, document numbers and dates "
            "(`assistant/bench.py: synthetic_corpus`; task texts and units are the seeds', not recombined). "
            "Questions: the eval questions above, each aimed at a random synthetic plan by its "
            "short name; warm-up with the warm-up questions aimed the same way.",
            "",
            "| plans | passages | units | cold ingest s | passages/s | questions | p50 ms | p95 ms | max ms |",
            "|---|---|---|---|---|---|---|---|---|",
        )
        rows = _scaling(report, settings, sizes, work, per_plan_q=20 if quick else 10_000)
        if 200 not in sizes and not quick:
            report.add(
                "",
                "N = 200 is not in this run: its cold ingest alone takes ~20 minutes at the "
                "passages/s above; run `assistant bench --sizes 2,20,200` to include it.",
            )
        report.add("")
        _add_one_plan(report, settings, work, sizes[-1])
        png = out_dir / "benchmarks-scaling.png"
        out_dir.mkdir(parents=True, exist_ok=True)
        if _plot(rows, png):
            report.add("", f"![latency by corpus size]({png.name})")
        else:
            report.add("", "(matplotlib not available: no plot)")
    eight = next((r for r in http_rows if r["clients"] == 8 and r["threads"] == 1), None)
    report.add(
        "",
        f"Total bench time {time.perf_counter() - started:.0f} s. Ours over the whole mix: "
        f"p50 {pct(lat['ours'], 50):.1f} ms vs baseline {pct(lat['baseline'], 50):.1f} ms"
        + (f"; HTTP at 8 clients p95 {eight['p95']:.0f} ms, {eight['errors']} errors, "
           f"{eight['cpu_ms']:.1f} ms server CPU per request." if eight else "."),
        f"Load average when it finished: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(the machine is shared; compare ratios measured side by side in this run).",
    )
    path = out_dir / "benchmarks.md"
    path.write_text("\n".join(report.lines) + "\n", "utf-8")
    print(f"报告：{path}")
    return path


def main(settings: Settings | None, argv_quick: bool, out: Path, sizes: list[int] | None) -> int:
    settings = settings or load_settings()
    command = "assistant " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else "assistant bench"
    run_bench(settings, out, quick=argv_quick, sizes=sizes, command=command)
    return 0


__all__ = ["eval_questions", "pct", "run_bench", "statistics", "synthetic_corpus"]
