"""Build the index under index/: structured tables, a Chroma collection, the
lexical index's source, all as one *generation* swapped in atomically.

Layout:
    index/CURRENT                 id of the live generation (replaced with os.replace)
    index/gens/<gen>/tables.json  plans, tasks, units, sections, chunks, parse issues
    index/chroma/                 embedded Chroma (collection chunks-<gen>), unless a host is set
    index/cache/<plan>.json       llama-index IngestionCache: embeddings by content hash

A query never sees half a plan: readers follow CURRENT, which only ever names a
complete generation. Re-ingesting unchanged content finds the same generation id
and does nothing; a changed plan re-embeds only that plan's chunks.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..records import Chunk, Issue, ParsedPlan, Task, content_hash
from ..settings import Settings, prepare_offline_runtime
from .chunk import build_chunks
from .loaders import PlanFormatError, SourceFile, discover, load_source
from .parse import ParseResult, parse_plan
from .units import AliasTable, UnitRegistry

SCHEMA_VERSION = "5"  # bump when parsing, chunking or unit aliases change what an index holds


@dataclass
class BuildSummary:
    generation: str
    plans: int
    tasks: int
    units: int
    chunks: int
    seconds: float
    reused: bool
    embedded: int  # chunks whose embeddings were computed (not from cache)
    issues: list[str]

    def line(self) -> str:
        state = "索引未变化，沿用现有索引" if self.reused else f"新嵌入 {self.embedded} 段"
        return (
            f"完成：{self.plans} 个方案，{self.tasks} 项任务，{self.units} 个单位，"
            f"{self.chunks} 个片段，用时 {self.seconds:.1f} 秒（{state}）"
        )


def chroma_client(settings: Settings) -> Any:
    """Embedded PersistentClient under index/chroma, or an HttpClient when a host is set."""
    import warnings

    import chromadb

    # Chroma warns when it cannot rebuild our embedding function from its stored config;
    # we always pass it explicitly, so the warning is noise.
    warnings.filterwarnings("ignore", message="Could not reconstruct embedding function")
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
        )
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def collection_name(generation: str) -> str:
    return f"chunks-{generation}"


def current_generation(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text().strip() or None
    except FileNotFoundError:
        return None


@contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class IngestError(PlanFormatError):
    """The corpus cannot be ingested as it stands; the serving index is left as it was."""

    def __init__(self, errors: list[Issue]):
        self.errors = errors
        super().__init__("；".join(str(e) for e in errors))


def parse_file(path: Path, table: AliasTable) -> tuple[SourceFile, ParseResult]:
    """Read and parse one plan file (no index touched): what `inspect` shows."""
    src = load_source(path)
    region = src.plan.region

    def canon(name: str) -> str:
        return table.canonical(name, region)

    return src, parse_plan(src.plan, src.text, canon)


def parse_corpus(settings: Settings) -> tuple[list[ParsedPlan], AliasTable, list[Issue]]:
    """Parse every plan file in the corpus (pure, no index touched). Files that cannot be read
    and duplicate plan ids are error issues naming the file."""
    table = AliasTable.load(settings.aliases_path)
    parsed: list[ParsedPlan] = []
    issues: list[Issue] = []
    seen: dict[str, str] = {}
    for path in discover(settings.corpus_dir):
        try:
            src, result = parse_file(path, table)
        except PlanFormatError as exc:
            issues.append(Issue(path.stem, 0, str(exc), "error", path.name))
            continue
        if src.plan.id in seen:
            issues.append(
                Issue(
                    src.plan.id,
                    0,
                    f"方案编号重复：{path.name} 与 {seen[src.plan.id]} 都用编号“{src.plan.id}”",
                    "error",
                    path.name,
                )
            )
            continue
        seen[src.plan.id] = path.name
        chunks, tasks = build_chunks(src.plan, result, settings.chunk_tokens)
        plan_issues = tuple(replace(i, file=path.name) for i in (*src.issues, *result.issues))
        issues.extend(plan_issues)
        parsed.append(
            ParsedPlan(src.plan, tuple(result.sections), tuple(tasks), tuple(chunks), plan_issues)
        )
    return parsed, table, issues


def serving_task_counts(index_dir: Path) -> dict[str, int]:
    """Tasks per plan in the index now in service ({} when there is none or it is unreadable)."""
    gen = current_generation(index_dir)
    if gen is None:
        return {}
    try:
        data = json.loads((index_dir / "gens" / gen / "tables.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    counts: dict[str, int] = {}
    for t in data.get("tasks", []):
        counts[t["plan_id"]] = counts.get(t["plan_id"], 0) + 1
    return counts


def task_losses(parsed: list[ParsedPlan], serving: dict[str, int], force: bool) -> list[Issue]:
    """A plan that loses all, or more than half, of its tasks versus the serving index is an
    error unless forced (then a warning): an emptied or truncated file must not replace it."""
    out: list[Issue] = []
    for p in parsed:
        before, now = serving.get(p.plan.id, 0), len(p.tasks)
        if before and now * 2 < before:
            what = "全部任务" if now == 0 else "一半以上的任务"
            out.append(
                Issue(
                    p.plan.id,
                    0,
                    f"与在用索引相比失去{what}（{before} 项 → {now} 项）"
                    + ("；已按 --force 接受" if force else "；如确属修订，请加 --force 重新运行"),
                    "warning" if force else "error",
                    p.plan.source_file,
                )
            )
    return out


def _embed_plan(
    settings: Settings, plan_id: str, chunks: list[Chunk], embedder: Any
) -> tuple[list[list[float]], int]:
    """Embeddings for one plan's chunks through an IngestionPipeline whose cache is
    keyed by content: an unchanged plan costs a cache lookup."""
    from llama_index.core.ingestion import IngestionCache, IngestionPipeline
    from llama_index.core.schema import TextNode

    cache_path = settings.index_dir / "cache" / f"{plan_id}.json"
    cache = (
        IngestionCache.from_persist_path(str(cache_path))
        if cache_path.exists()
        else IngestionCache()
    )
    nodes = [TextNode(id_=c.id, text=c.embed_text, metadata={}) for c in chunks]
    pipeline = IngestionPipeline(transformations=[embedder], cache=cache)
    before = (
        len(cache.cache.get_all(collection=cache.collection))
        if hasattr(cache.cache, "get_all")
        else -1
    )
    out = pipeline.run(nodes=nodes, show_progress=False)
    after = (
        len(cache.cache.get_all(collection=cache.collection))
        if hasattr(cache.cache, "get_all")
        else -1
    )
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache.persist(str(cache_path))
    by_id = {n.id_: n.embedding or [] for n in out}
    embedded = len(chunks) if after != before else 0
    return [by_id[c.id] for c in chunks], embedded


def build_index(settings: Settings, progress: bool = False, force: bool = False) -> BuildSummary:
    """Parse the corpus and swap in a new index generation (or reuse an identical one)."""
    prepare_offline_runtime(settings)
    started = time.perf_counter()
    with _build_lock(settings.index_dir):
        parsed, table, issues = parse_corpus(settings)
        issues += task_losses(parsed, serving_task_counts(settings.index_dir), force)
        errors = [i for i in issues if i.level == "error"]
        if errors:
            raise IngestError(errors)
        if not parsed:
            raise PlanFormatError(
                f"{settings.corpus_dir} 中没有可用的方案文件；" + "；".join(map(str, issues))
            )
        gen = content_hash(
            SCHEMA_VERSION,
            settings.embed_mode,
            settings.embed_model if settings.embed_mode == "openai" else "",
            *(p.plan.checksum for p in parsed),
            *(str(p.plan) for p in parsed),
            settings.aliases_path.read_text("utf-8") if settings.aliases_path.exists() else "",
            str(settings.chunk_tokens),
            length=12,
        )
        if force:  # a forced rebuild is a new generation, swapped like any other: the live one stays intact
            gen = content_hash(gen, str(time.time_ns()), length=12)
        plans = {p.plan.id: p.plan for p in parsed}
        tasks = [t for p in parsed for t in p.tasks]
        registry = UnitRegistry.build(plans, tasks, table)
        chunks = [c for p in parsed for c in p.chunks]
        gen_dir = settings.index_dir / "gens" / gen
        client = chroma_client(settings)
        reusable = (
            not force
            and current_generation(settings.index_dir) == gen
            and (gen_dir / "tables.json").exists()
            and collection_name(gen)
            in {c if isinstance(c, str) else c.name for c in client.list_collections()}
        )
        embedded = 0
        if not reusable:
            embedded = _write_generation(settings, gen, parsed, registry, issues, client, progress)
            _swap(settings.index_dir, gen)
            _prune(settings, client, keep={gen, *_previous(settings.index_dir)})
        return BuildSummary(
            gen,
            len(plans),
            len(tasks),
            len(registry.scoped),
            len(chunks),
            time.perf_counter() - started,
            reusable,
            embedded,
            [str(i) for i in issues],
        )


def _write_generation(
    settings: Settings,
    gen: str,
    parsed: list[ParsedPlan],
    registry: UnitRegistry,
    issues: list[Issue],
    client: Any,
    progress: bool,
) -> int:
    from tqdm import tqdm

    from ..retrieval.embed import ChromaEmbedding, make_embedder

    embedder = make_embedder(settings)
    name = collection_name(gen)
    try:
        client.delete_collection(name)
    except Exception:  # not there: fine
        pass
    collection = client.create_collection(
        name, embedding_function=ChromaEmbedding(embedder), metadata={"hnsw:space": "cosine"}
    )
    embedded = 0
    bar = tqdm(
        total=sum(len(p.chunks) for p in parsed), desc="嵌入", unit="段", disable=not progress
    )
    for p in parsed:
        chunks = list(p.chunks)
        vectors, n = _embed_plan(settings, p.plan.id, chunks, embedder)
        embedded += n
        collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=vectors,
            documents=[c.embed_text for c in chunks],
            metadatas=[c.metadata() for c in chunks],
        )
        bar.update(len(chunks))
    bar.close()
    tmp = settings.index_dir / "gens" / f".{gen}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tables = {
        "generation": gen,
        "schema": SCHEMA_VERSION,
        "embed_mode": settings.embed_mode,
        "plans": [asdict(p.plan) for p in parsed],
        "sections": [asdict(s) for p in parsed for s in p.sections],
        "tasks": [asdict(t) for p in parsed for t in p.tasks],
        "units": [asdict(u) for u in registry.scoped.values()],  # one per (region, name)
        "chunks": [{**asdict(c), "id": c.id} for p in parsed for c in p.chunks],
        "issues": [asdict(i) for i in issues],
    }
    (tmp / "tables.json").write_text(json.dumps(tables, ensure_ascii=False, indent=1), "utf-8")
    final = settings.index_dir / "gens" / gen
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return embedded


def _swap(index_dir: Path, gen: str) -> None:
    old = current_generation(index_dir)
    if old and old != gen:
        (index_dir / "PREVIOUS").write_text(old)
    tmp = index_dir / ".CURRENT.tmp"
    tmp.write_text(gen)
    os.replace(tmp, index_dir / "CURRENT")


def _previous(index_dir: Path) -> set[str]:
    try:
        return {(index_dir / "PREVIOUS").read_text().strip()}
    except FileNotFoundError:
        return set()


def _prune(settings: Settings, client: Any, keep: set[str]) -> None:
    """Drop generations other than the live one and the one before it (which
    queries that started before the swap may still be reading)."""
    gens = settings.index_dir / "gens"
    for d in gens.iterdir() if gens.exists() else []:
        if d.name not in keep and not d.name.startswith("."):
            shutil.rmtree(d, ignore_errors=True)
    for c in client.list_collections():
        name = c if isinstance(c, str) else c.name
        if name.startswith("chunks-") and name.removeprefix("chunks-") not in keep:
            client.delete_collection(name)


def task_from_dict(d: dict[str, Any]) -> Task:
    return Task(
        **{
            **d,
            "section_path": tuple(d["section_path"]),
            "lead": tuple(d["lead"]),
            "responsible": tuple(d["responsible"]),
        }
    )
