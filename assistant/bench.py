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
- ingest passages/s (cold ingest of the seeds and of each synthetic corpus) and what adding
  one plan embeds;
- a scaling curve: N varied synthetic plans (`varied_corpus`: invented regions, tasks drawn
  from both seeds and recombined, units renamed and swapped, four task layouts), p50/p95/max
  per N in-process, HTTP p95 and the worker's RSS, with a PNG plot (matplotlib).
  (`synthetic_corpus`, the seeds under other names, stays for tests that need every plan to
  carry the same tasks.)

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
INGEST_NICE = 10  # the synthetic corpora's ingests yield to other work on a shared machine
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


@dataclass(frozen=True)
class PoolTask:
    """A seed task as the generator reuses it: its heading, sentences and units."""

    heading: str
    sentences: tuple[str, ...]
    lead: tuple[str, ...]
    responsible: tuple[str, ...]
    seed_short: str


LAYOUTS = ("label", "worded", "markdown", "tabs")
SENTENCE_RE = re.compile(r"[^。；]+[。；]?")


def _task_pool(seed_corpus: Path) -> tuple[list[PoolTask], list[str]]:
    """Every task of the seed plans (parsed by the ingest parser) and every unit they name."""
    from .ingest.index import parse_file
    from .ingest.units import AliasTable

    table = AliasTable.load(seed_corpus / "aliases.toml")
    pool: list[PoolTask] = []
    units: dict[str, None] = {}
    for meta, _ in _seed_plans(seed_corpus):
        txt = seed_corpus / f"{meta['id']}.txt"
        if not txt.exists():
            txt = next(seed_corpus.glob("*.txt"))  # metadata names its own file by id
        _, parsed = parse_file(txt, table)
        for t in parsed.tasks:
            body = t.text
            if body.startswith(t.heading):
                body = body[len(t.heading):].lstrip("。 ")
            sentences = tuple(x.strip() for x in SENTENCE_RE.findall(body) if len(x.strip()) > 6)
            if not sentences or not t.lead:
                continue
            heading = re.sub(r"^[（(]?[一二三四五六七八九十\d]+[)）.、．]\s*", "", t.section_path[-1] if t.section_path else t.heading).rstrip("。")
            pool.append(PoolTask(heading, sentences, t.lead, t.responsible, str(meta["short_name"])))
            units.update(dict.fromkeys((*t.lead, *t.responsible)))
    return pool, list(units)


def varied_corpus(seed_corpus: Path, out: Path, n: int, seed: int = 11) -> list[str]:
    """Write n varied plans of the genre under `out` and return their short names.

    Each plan is built from the seeds' parsed tasks, recombined: an invented region (a 县 or
    a 区), its own number of tasks (12–48) drawn from every seed, each task's text cut to some of
    its sentences and sometimes joined with a sentence of another task under the same heading,
    units renamed to the plan's level and region and sometimes swapped for another unit of the
    pool, and one of four task layouts the parser reads: inline （牵头单位：…；责任单位：…）
    notes, worded （…牵头，…配合） notes, a markdown task table or a tab-separated one in an
    annex. Plan i is the same whatever n is (each has its own random stream), so growing a
    corpus by one plan adds exactly one new file pair."""
    pool, unit_pool = _task_pool(seed_corpus)
    seeds = _seed_plans(seed_corpus)
    if not pool:
        raise ValueError(f"{seed_corpus} 中没有可用的任务")
    seed_shorts = [str(m["short_name"]) for m, _ in seeds]
    seed_regions = [str(m["region"]) for m, _ in seeds]
    levels = {str(m["region"])[-1] for m, _ in seeds}
    out.mkdir(parents=True, exist_ok=True)
    for extra in ("synonyms.toml",):  # the curated aliases name the seeds' regions: not copied
        if (seed_corpus / extra).exists():
            shutil.copy(seed_corpus / extra, out / extra)
    by_heading: dict[str, list[PoolTask]] = {}
    for t in pool:
        by_heading.setdefault(t.heading, []).append(t)
    names = _region_names(n, seed, set(seed_shorts))
    for i, short in enumerate(names):
        rng = random.Random(f"{seed}-{i}")
        level = "区" if rng.random() < 0.3 else "县"
        region = short + level
        layout = LAYOUTS[i % len(LAYOUTS)]
        year = 2019 + rng.randrange(7)

        def unit(name: str, short: str = short, level: str = level) -> str:
            for old in (*seed_regions, *seed_shorts):
                name = name.replace(old, short)
            for old in levels:
                if name.startswith(old) and old != level:
                    name = level + name[len(old):]
            return name

        def local(text: str, short: str = short, region: str = region) -> str:
            for old in seed_regions:
                text = text.replace(old, region)
            for old in seed_shorts:
                text = text.replace(old, short)
            return text

        chosen = rng.sample(pool, min(len(pool), rng.randrange(12, 49)))
        chosen.sort(key=lambda t: pool.index(t))  # the seeds' order keeps headings together
        tasks: list[tuple[str, str, list[str], list[str]]] = []
        for t in chosen:
            k = rng.randrange(1, len(t.sentences) + 1)
            start = rng.randrange(0, len(t.sentences) - k + 1)
            text = "".join(t.sentences[start:start + k])
            siblings = [o for o in by_heading[t.heading] if o is not t]
            if siblings and rng.random() < 0.3:
                text += rng.choice(rng.choice(siblings).sentences)
            text = local(text.rstrip("；") + ("" if text.endswith("。") else "。"))
            lead = [unit(u) for u in t.lead]
            resp = [unit(u) for u in t.responsible if u not in t.lead]
            if rng.random() < 0.3:
                extra = unit(rng.choice(unit_pool))
                if extra not in lead and extra not in resp:
                    if resp and rng.random() < 0.5:
                        resp[rng.randrange(len(resp))] = extra
                    else:
                        resp.append(extra)
            tasks.append((t.heading, text, lead, resp))
        code = _letters(i)
        title = f"{region}服务业扩大开放综合试点实施方案"
        issuer = f"{region}人民政府办公室"
        doc_number = f"{short}{level}府办发〔{year}〕{rng.randrange(1, 90)}号"
        issued = f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        body = _plan_text(title, issuer, doc_number, issued, level, tasks, layout, rng.randrange(2, 6))
        meta = {
            "id": f"varied-{code}", "title": title, "issuer": issuer, "region": region,
            "name_en": f"Varied {code.upper()}", "short_name": short,
            "doc_number": doc_number, "issued": issued,
        }
        (out / f"varied-{code}.txt").write_text(body, "utf-8")
        (out / f"varied-{code}.toml").write_text(
            "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in meta.items()), "utf-8"
        )
    return names


def _region_names(n: int, seed: int, taken: set[str]) -> list[str]:
    """n distinct two-character region names (three when two run out), none a seed's."""
    rng = random.Random(seed)
    names: list[str] = []
    used = set(taken)
    while len(names) < n:
        size = 2 if len(used) < 600 else 3
        name = "".join(rng.sample(REGION_CHARS, size))
        if name not in used and not any(name in u or u in name for u in taken):
            used.add(name)
            names.append(name)
    return names


def _plan_text(
    title: str, issuer: str, doc_number: str, issued: str, level: str,
    tasks: list[tuple[str, str, list[str], list[str]]], layout: str, years: int,
) -> str:
    """A plan in the genre's outline: notice, 总体要求, tasks under their headings, 保障措施,
    and (table layouts) an annex that assigns the units."""
    cn = "一二三四五六七八九十"
    y, m, d = issued.split("-")
    lines = [
        issuer, doc_number, f"关于印发{title}的通知", f"{level}政府各部门，有关单位：",
        f"现将《{title}》印发给你们，请认真组织实施。", issuer, f"{y}年{int(m)}月{int(d)}日", "（此件公开发布）", "",
        title, "", "一、总体要求", "（一）工作目标",
        f"经过{cn[years - 1]}年试点，全面落实{len(tasks)}项试点任务，努力形成市场更加开放、制度更加规范的服务业发展环境。",
        "", "二、主要任务",
    ]
    groups: list[tuple[str, list[tuple[int, tuple[str, str, list[str], list[str]]]]]] = []
    for number, task in enumerate(tasks, 1):
        if not groups or groups[-1][0] != task[0]:
            groups.append((task[0], []))
        groups[-1][1].append((number, task))
    table = layout in ("markdown", "tabs")
    for g, (heading, items) in enumerate(groups):
        lines.append(f"（{_cn_number(g + 1)}）{heading}")
        for number, (_, text, lead, resp) in items:
            if table:
                lines.append(f"{number}. {text}")
            elif layout == "label":
                note = f"牵头单位：{'、'.join(lead)}" + (f"；责任单位：{'、'.join(resp)}" if resp else "")
                lines.append(f"{number}. {text}（{note}）")
            else:
                note = f"{'、'.join(lead)}牵头" + (f"，{'、'.join(resp)}配合" if resp else "")
                lines.append(f"{number}. {text}（{note}）")
    lines += ["", "三、保障措施", "（一）加强组织领导。各责任单位要按照职责分工，细化工作措施，确保各项任务落实到位。", ""]
    if table:
        lines += ["附件", f"{title}任务分工", ""]
        header = ["序号", "重点任务", "牵头单位", "责任单位", "完成时限"]
        deadline = f"{int(y) + years - 1}年底前"  # a last column: an empty 责任单位 cell is never trailing
        rows = [[str(n), t[1], "、".join(t[2]), "、".join(t[3]), deadline] for n, t in enumerate(tasks, 1)]
        if layout == "markdown":
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
        else:
            lines += ["\t".join(header)] + ["\t".join(r) for r in rows]
    return "\n".join(lines) + "\n"


def _cn_number(i: int) -> str:
    cn = "一二三四五六七八九十"
    if i <= 10:
        return cn[i - 1]
    return ("" if i < 20 else cn[i // 10 - 1]) + "十" + (cn[i % 10 - 1] if i % 10 else "")


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


def _scaling(
    report: Report, base_settings: Settings, sizes: list[int], work: Path, per_plan_q: int
) -> list[dict[str, Any]]:
    """Per N: a varied corpus, cold `assistant ingest` (every core), in-process latency of the
    eval questions aimed at random plans, then the same questions through `assistant serve`
    (1 worker, 1 client) for the worker's resident memory."""
    import gc

    from .answer.assistant import Assistant

    root = Path(__file__).resolve().parent.parent
    seed_questions = eval_questions(root)
    warm_questions = eval_questions(root, sets=WARMUP_SETS)
    seeds = _seed_plans(base_settings.corpus_dir)
    rows = []
    for n in sizes:
        corpus, index = work / f"corpus-{n}", work / f"index-{n}"
        shorts = varied_corpus(base_settings.corpus_dir, corpus, n)
        ingest = _cli_ingest(base_settings, corpus, index, None, nice=INGEST_NICE)
        settings = _with(base_settings, corpus_dir=corpus, index_dir=index, aliases_file=None)
        rng = random.Random(n)

        def aimed(qs: list[Question], rng: random.Random = rng, shorts: list[str] = shorts) -> list[str]:
            out = []  # each question aimed at a random plan of the corpus
            for q in qs:
                short, t = rng.choice(shorts), q.text
                for meta, _ in seeds:
                    t = t.replace(str(meta["region"]), short).replace(str(meta["short_name"]), short)
                out.append(t)
            return out

        texts = aimed(seed_questions)[:per_plan_q]
        warm = [t for t in aimed(warm_questions)[:per_plan_q] if t not in texts]
        assistant = Assistant(settings)
        for t in warm:  # warm-up: other questions
            assistant.answer([{"role": "user", "content": t}])
        ms = [_time(_ask(assistant, t)) for t in texts]
        del assistant
        gc.collect()
        http_index = work / f"index-{n}-http"  # its own copy: one embedded Chroma per process
        shutil.copytree(index, http_index, ignore=shutil.ignore_patterns("cache"))
        with Server(_with(settings, index_dir=http_index), work) as server:
            _http_load(server.url, warm, 1)
            http_ms, errors, _ = _http_load(server.url, texts, 1)
            rss = _rss_mb(server.proc.pid)
        shutil.rmtree(http_index, ignore_errors=True)
        row = {"n": n, "chunks": ingest["chunks"], "units": ingest["units"], "tasks": ingest["tasks"],
               "ingest_s": ingest["seconds"], "passages_per_s": ingest["chunks"] / ingest["seconds"],
               "p50": pct(ms, 50), "p95": pct(ms, 95), "max": max(ms), "q": len(ms),
               "http_p95": pct(http_ms, 95), "http_errors": errors, "rss": rss}
        rows.append(row)
        report.add(
            f"| {n} | {row['tasks']} | {row['chunks']} | {row['units']} | {row['ingest_s']:.1f} | "
            f"{row['passages_per_s']:.1f} | {len(ms)} | {row['p50']:.1f} | {row['p95']:.1f} | {row['max']:.1f} | "
            f"{row['http_p95']:.1f} | {errors} | {rss:.0f} |"
        )
    return rows


def _with(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


def _add_one_plan(report: Report, base_settings: Settings, work: Path, n: int) -> None:
    """Grow the N-plan corpus by one plan and re-ingest: how many passages are embedded."""
    corpus, index = work / f"corpus-{n}", work / f"index-{n}"
    tmp = work / "grow"
    varied_corpus(base_settings.corpus_dir, tmp, n + 1)
    last = f"varied-{_letters(n)}"
    for ext in ("txt", "toml"):
        shutil.copy(tmp / f"{last}.{ext}", corpus / f"{last}.{ext}")
    summary = _cli_ingest(base_settings, corpus, index, None, nice=INGEST_NICE)
    report.add(
        f"Adding one plan to the {n}-plan index (`assistant ingest`): {summary['chunks']} passages in all, "
        f"{summary['embedded']} embedded anew, {summary['seconds']:.1f} s "
        "(embeddings are cached per plan by content under index/cache/: only the new plan is embedded)."
    )


def _cli_ingest(
    settings: Settings, corpus: Path, index: Path, threads: int | None, nice: int = 0
) -> dict[str, Any]:
    """`assistant ingest` in a fresh process (threads: None = its default, every core; nice:
    its scheduling niceness): its summary line's figures (plans, tasks, units, chunks, seconds,
    embedded)."""
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
        preexec_fn=(lambda: os.nice(nice)) if nice else None,
    )
    m = re.search(
        r"(\d+) 个方案，(\d+) 项任务，(\d+) 个单位，(\d+) 个片段，用时 ([\d.]+) 秒（(?:新嵌入 (\d+) 段)?",
        proc.stdout,
    )
    if not m:
        raise RuntimeError(proc.stdout + proc.stderr)
    plans, tasks, units, chunks = (int(m.group(i)) for i in range(1, 5))
    return {"plans": plans, "tasks": tasks, "units": units, "chunks": chunks,
            "seconds": float(m.group(5)), "embedded": int(m.group(6) or 0)}


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
    """Each text POSTed to /api/chat once, by `clients` threads: (latencies ms, errors, wall s).
    Each thread keeps one connection (the standard library's `http.client`: the load generator
    shares the CPUs with the server, so it should cost as little as a client can; httpx costs
    ~1 ms of CPU more per request)."""
    import http.client
    import json
    import threading
    from urllib.parse import urlsplit

    host = urlsplit(url)
    todo = iter(texts)
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    headers = {"Content-Type": "application/json"}

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=60)
        try:
            while True:
                with lock:
                    text = next(todo, None)
                if text is None:
                    return
                body = json.dumps({"messages": [{"role": "user", "content": text}]}).encode()
                t = time.perf_counter()
                try:
                    conn.request("POST", "/api/chat", body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    ok = resp.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()  # reconnects on the next request
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(ms)
                    errors += not ok
        finally:
            conn.close()

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
    only_two = sizes == [0]  # `--sizes 0`: the two seed plans' latency and HTTP sections only
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
        cli_runs = [] if only_two else [
            (label, _cli_ingest(settings, settings.corpus_dir, work / f"index-cli-{i}", threads))
            for i, (label, threads) in enumerate((("1 thread", 1), (f"default ({os.cpu_count()} CPUs)", None)))
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
        if only_two:
            report.add("", "Ingest and scaling not measured in this run (`--sizes 0`).")
        else:
            report.add(
                "",
                "## Ingest",
                "",
                "Two seed plans, cold, `assistant ingest` in a fresh process (ingest embeds on every core "
                "unless ASSISTANT_EMBED_THREADS is set; the vectors are bit-identical):",
                "",
                "| embedding threads | passages | seconds | passages/s |",
                "|---|---|---|---|",
                *(f"| {label} | {r['chunks']} | {r['seconds']:.1f} | {r['chunks'] / r['seconds']:.1f} |"
                  for label, r in cli_runs),
                "",
                f"In-process (the answer path's 1 thread): {summary.chunks} passages in {summary.seconds:.1f} s "
                f"({summary.chunks / summary.seconds:.1f} passages/s). The scaling table below ingests with "
                "`assistant ingest` (every core).",
                "",
                "## Scaling with the number of plans",
                "",
                "Varied synthetic plans (`assistant/bench.py: varied_corpus`): invented regions (县 and 区), "
                "each plan 12–48 tasks drawn from both seeds, task texts cut to some of their sentences and "
                "sometimes joined with a sentence of a sibling task, units renamed to the plan's level and "
                "region and sometimes swapped, in four layouts the parser reads (inline labelled notes, "
                "worded notes, a markdown task table, a tab-separated one). Questions: the eval questions "
                "above, each aimed at a random plan by its short name (so many are about tasks that plan "
                "lacks: latency, not accuracy); warm-up with the warm-up questions aimed the same way. "
                f"Each corpus is ingested by `assistant ingest` at nice {INGEST_NICE} (on a shared machine its "
                "passages/s depend on the other load). In-process latency (1 embedding thread); then the same questions through `assistant serve` "
                "(1 worker, 1 client) for its p95 and the worker's resident memory (RSS) after them.",
                "",
                "| plans | tasks | passages | units | cold ingest s | passages/s | questions | p50 ms | p95 ms | "
                "max ms | HTTP p95 ms | HTTP errors | worker RSS MB |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            )
            rows = _scaling(report, settings, sizes, work, per_plan_q=20 if quick else 10_000)
            if 200 not in sizes and not quick:
                report.add(
                    "",
                    "N = 200 is not in this run: its cold ingest alone takes ~15 minutes on 2 cores; "
                    "run `assistant bench --sizes 2,20,200` to include it.",
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
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(report.lines) + "\n", "utf-8")
    print(f"报告：{path}")
    return path


def main(settings: Settings | None, argv_quick: bool, out: Path, sizes: list[int] | None) -> int:
    settings = settings or load_settings()
    command = "assistant " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else "assistant bench"
    run_bench(settings, out, quick=argv_quick, sizes=sizes, command=command)
    return 0


__all__ = ["eval_questions", "pct", "run_bench", "statistics", "synthetic_corpus"]
