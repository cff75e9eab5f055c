"""Reports: a table on stdout, evals/reports/latest.{json,md}, a chart (PNG), and
evals/reports/history.jsonl (one line per run: commit, date, summary; a blind set's
first score as `blind_first_run`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from ..settings import PROJECT_ROOT
from .cases import KINDS

SYSTEMS = ("ours", "baseline", "hybrid")
SYSTEM_LABELS = {
    "ours": "ours",
    "baseline": "llama-index defaults",
    "hybrid": "llama-index hybrid (vector + BM25/jieba, RRF)",
}
KIND_ORDER = ("gen_task_units", "gen_unit_tasks", *KINDS)
KIND_LABELS = {
    "gen_task_units": "生成·任务→单位",
    "gen_unit_tasks": "生成·单位→任务",
    "task_units": "任务→单位",
    "unit_tasks": "单位→任务",
    "applies": "适用措施",
    "compare": "两地对比",
    "plan_facts": "方案事实",
    "not_covered": "未涉及",
    "out_of_scope": "超出范围",
    "topic": "主题清单",
    "smalltalk": "寒暄",
}
TABLE_METRICS = (
    "accuracy",
    "rendered_accuracy",
    "status_acc",
    "recall@5",
    "text_recall@5",
    "mrr",
    "citation_precision",
    "unsupported_rate",
    "latency_ms_mean",
)
SUITE_ROWS = ("set/topics", "set/conv_ellipsis")
# (label, group, metric): the issue-10 metrics, with their thresholds where set
NEW_METRICS = (
    ("rendered accuracy", "all", "rendered_accuracy"),
    ("rendered accuracy · gen task→units", "kind/gen_task_units", "rendered_accuracy"),
    ("rendered accuracy · gen unit→tasks", "kind/gen_unit_tasks", "rendered_accuracy"),
    ("rendered accuracy · hand-written", "handwritten", "rendered_accuracy"),
    ("text checks pass", "all", "text_ok"),
    ("list items shown (number + units)", "all", "items_shown"),
    ("citation quotes in source", "all", "quotes_in_source"),
    ("verifier checks ok", "all", "checks_ok"),
    ("lines dropped by the verifier", "all", "lines_dropped_total"),
    ("answer in the asked language", "all", "lang_acc"),
    ("conversations (switch + ellipsis)", "suite/conversations", "accuracy"),
    ("switch consistency", "suite/switch", "switch_consistency"),
    ("ellipsis follow-ups", "suite/ellipsis", "ellipsis_accuracy"),
    ("suggestion following", "suite/suggestions", "suggestion_following"),
    ("suggestions answered", "suite/suggestions", "answered_rate"),
    ("suggestions right by the gold", "suite/suggestions", "gold_accuracy"),
    ("perturbation consistency", "suite/perturbations", "consistency"),
    ("· wrapped (greetings, thanks)", "perturb/wrap", "consistency"),
    ("· full/half width", "perturb/width", "consistency"),
    ("· traditional characters", "perturb/traditional", "consistency"),
    ("topical recall", "set/topics", "topical_recall"),
    ("topical precision", "set/topics", "topical_precision"),
)
BASELINE_METRICS = (
    ("recall@5 (cited task numbers)", "all", "recall@5"),
    ("text_recall@5 (task words in a top-5 passage)", "all", "text_recall@5"),
    ("mrr", "all", "mrr"),
    ("top-5 ceiling · unit→tasks", "kind/unit_tasks", "topk_ceiling"),
    ("top-5 ceiling · gen unit→tasks", "kind/gen_unit_tasks", "topk_ceiling"),
    ("top-5 ceiling · topics", "set/topics", "topk_ceiling"),
    ("accuracy", "all", "accuracy"),
    ("latency ms (mean)", "all", "latency_ms_mean"),
    ("latency ms (p95)", "all", "latency_ms_p95"),
)
HISTORY_METRICS = (
    ("accuracy", "all", "accuracy"),
    ("rendered", "all", "rendered_accuracy"),
    ("status", "all", "status_acc"),
    ("conversations", "suite/conversations", "accuracy"),
    ("suggestions", "suite/suggestions", "suggestion_following"),
    ("perturbations", "suite/perturbations", "consistency"),
    ("topical R", "set/topics", "topical_recall"),
    ("topical P", "set/topics", "topical_precision"),
)
NO_LLM_NOTE = (
    "Baselines have no LLM (`Settings.llm = None`; fusion with one query and no query "
    "generation): their answer is the text of the top-5 retrieved chunks."
)


def kinds_in(summary: dict[str, dict[str, Any]]) -> list[str]:
    present = [k.removeprefix("kind/") for k in summary if k.startswith("kind/")]
    return [k for k in KIND_ORDER if k in present] + sorted(set(present) - set(KIND_ORDER))


def fmt(value: Any, metric: str = "") -> str:
    if value is None:
        return "—"
    if metric.startswith("latency"):
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def systems_in(report: dict[str, Any]) -> list[str]:
    return [s for s in SYSTEMS if s in report["summary"]]


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    summary = report["summary"]
    ours = summary["ours"]
    groups = [f"kind/{k}" for k in kinds_in(ours)] + ["handwritten", "generated", "all"]
    rows = []
    for group in [*groups, *SUITE_ROWS]:
        if group not in ours:
            continue
        row = [group.removeprefix("kind/"), str(ours[group]["n"])]
        for m in TABLE_METRICS:
            row.append(
                " / ".join(fmt(summary[s].get(group, {}).get(m), m) for s in systems_in(report))
            )
        rows.append(row)
    return rows


def threshold_for(report: dict[str, Any], group: str, metric: str) -> tuple[str, str]:
    """(bound text, state): state is met / gap (target, not enforced) / FAIL / '' (none)."""
    bound = (report.get("thresholds") or {}).get(f"{group}.{metric}")
    if not bound:
        return "", ""
    value = report["summary"]["ours"].get(group, {}).get(metric)
    text = " ".join(
        f"{'≥' if k == 'min' else '≤'} {bound[k]}" for k in ("min", "max") if k in bound
    )
    enforce = not bound.get("target") or bool(bound.get("enforce"))
    text += "" if enforce else " (target)"
    if value is None:
        return text, "no data"  # not in this run, or the answers lack the field
    ok = ("min" not in bound or value >= bound["min"]) and (
        "max" not in bound or value <= bound["max"]
    )
    return text, "met" if ok else ("FAIL" if enforce else "gap")


def new_metric_rows(report: dict[str, Any]) -> list[list[str]]:
    ours = report["summary"]["ours"]
    listed = {(g, m) for _, g, m in NEW_METRICS}
    extra = [
        (key, *key.rsplit(".", 1))
        for key, b in (report.get("thresholds") or {}).items()
        if b.get("target") and tuple(key.rsplit(".", 1)) not in listed
    ]
    rows = []
    for label, group, metric in (*NEW_METRICS, *extra):
        value = ours.get(group, {}).get(metric)
        bound, state = threshold_for(report, group, metric)
        if value is None and not bound:
            continue
        n = ours.get(group, {}).get("n")
        rows.append([label, f"{group}.{metric}", fmt(value, metric), fmt(n), bound, state])
    return rows


def baseline_rows(report: dict[str, Any]) -> list[list[str]]:
    summary = report["summary"]
    rows = []
    for label, group, metric in BASELINE_METRICS:
        cells = [fmt(summary[s].get(group, {}).get(metric), metric) for s in systems_in(report)]
        if any(c != "—" for c in cells):
            rows.append([label, *cells])
    return rows


def _plain_table(header: list[str], rows: list[list[str]]) -> str:
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]


def text_table(report: dict[str, Any]) -> str:
    systems = systems_in(report)
    out = [_plain_table(["kind", "n", *TABLE_METRICS], table_rows(report))]
    out.append("（每格：" + " / ".join(systems) + "）")
    rows = new_metric_rows(report)
    if rows:
        out += ["", _plain_table(["new metric", "key", "ours", "n", "threshold", "state"], rows)]
    if len(systems) > 1:
        out += ["", _plain_table(["retrieval", *systems], baseline_rows(report)), NO_LLM_NOTE]
    counts = report.get("counts")
    if counts:
        out += ["", "规模：" + "，".join(f"{k} {v}" for k, v in counts.items())]
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ↵ ")


def expected_text(r: dict[str, Any]) -> str:
    e = dict(r["expect"])
    return json.dumps(e, ensure_ascii=False)


def got_text(r: dict[str, Any], limit: int = 220) -> str:
    g = r["got"]
    cites = ", ".join(f"{c['plan_id']}#{c['task_number']}" for c in g["citations"]) or "无引用"
    answer = g["answer"] if len(g["answer"]) <= limit else g["answer"][:limit] + "…"
    return f"[{g['status']}] {answer} （引用：{cites}）"


def why(r: dict[str, Any]) -> str:
    m = r["metrics"]
    parts = []
    if r.get("error"):
        parts.append(f"error: {r['error']}")
    if not m.get("status_ok"):
        parts.append("status")
    for key in (
        "lead_not_named",
        "responsible_not_named",
        "missing_tasks",
        "extra_tasks",
        "missing",
        "bad_citations",
        "unsupported_units",
        "unsupported_numbers",
        "rendered_missing",
        "cut_items",
        "quotes_not_in_source",
        "check_problems",
    ):
        if m.get(key):
            parts.append(f"{key}={m[key]}")
    if m.get("rendered_count_ok") is False:
        parts.append(f"stated count {m.get('count_stated')}")
    if m.get("intent_ok") is False:
        parts.append("intent")
    if r["kind"] == "task_units" and m.get("stated") is not None:
        parts.append(f"stated={m['stated']}")
    if r["kind"] in ("applies", "compare") and m.get("recall@5") is not None:
        parts.append(f"recall@5={m['recall@5']:.2f}")
    if r["kind"] == "topic" and m.get("topical_recall") is not None:
        parts.append(f"R={m['topical_recall']:.2f} P={m['topical_precision']:.2f}")
    return "; ".join(parts)


def _cites(cited: list[list[Any]]) -> str:
    return ", ".join(f"{p}#{n}" for p, n in cited) or "无"


def read_history(reports_dir: Path) -> list[dict[str, Any]]:
    path = reports_dir / "history.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text("utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def git_commit() -> tuple[str | None, bool | None]:
    """(short commit hash, working tree dirty) of the checkout being evaluated."""
    try:
        head = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        status = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None, None
    return head or None, bool(status)


def blind_first_runs(report: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """Scores of the blind sets in this run that no earlier run has scored."""
    from .runner import summarize

    seen = {s for h in history for s in h.get("sets", [])}
    out = {}
    for name in report.get("blind_sets", []):
        if name in seen:
            continue
        rs = [r for r in report["results"]["ours"] if r["set"] == name]
        groups = summarize(rs)
        out[name] = {
            "summary": groups.get(f"set/{name}", {}),
            "kinds": {
                k.removeprefix("kind/"): v for k, v in groups.items() if k.startswith("kind/")
            },
        }
    return out


def history_entry(report: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    commit, dirty = git_commit()
    summary = report["summary"]
    metrics = {
        label: {
            f"{g}.{m}": summary[label].get(g, {}).get(m)
            for _, g, m in (*HISTORY_METRICS, *BASELINE_METRICS[:3])
            if summary[label].get(g, {}).get(m) is not None
        }
        for label in summary
    }
    entry: dict[str, Any] = {
        "date": report["date"],
        "commit": commit,
        "dirty": dirty,
        "mode": report["mode"],
        "embed_mode": report["embed_mode"],
        "sets": report["sets"],
        "n_cases": report["n_cases"],
        "counts": report.get("counts", {}),
        "summary": metrics,
        "threshold_failures": len(report["threshold_failures"]),
        "target_gaps": len(report.get("target_gaps", [])),
    }
    if first := blind_first_runs(report, history):
        entry["blind_first_run"] = first
    return entry


def append_history(report: dict[str, Any], reports_dir: Path) -> dict[str, Any]:
    reports_dir.mkdir(parents=True, exist_ok=True)
    entry = history_entry(report, read_history(reports_dir))
    with (reports_dir / "history.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return entry


def trend_lines(history: list[dict[str, Any]], last: int = 12) -> list[str]:
    if not history:
        return ["（暂无历史）"]
    header = ["date", "commit", "n", *(label for label, _, _ in HISTORY_METRICS), "fail / gap"]
    rows = []
    for h in history[-last:]:
        ours = (h.get("summary") or {}).get("ours", {})
        commit = (h.get("commit") or "?") + ("+" if h.get("dirty") else "")
        rows.append(
            [
                h.get("date", "")[:16],
                commit,
                str(h.get("n_cases", "")),
                *(fmt(ours.get(f"{g}.{m}"), m) for _, g, m in HISTORY_METRICS),
                f"{h.get('threshold_failures', 0)} / {h.get('target_gaps', 0)}",
            ]
        )
    return _md_table(header, rows)


def blind_lines(history: list[dict[str, Any]]) -> list[str]:
    out = []
    for h in history:
        for name, first in (h.get("blind_first_run") or {}).items():
            s = first.get("summary", {})
            out.append(
                f"- `{name}` first scored {h.get('date', '')[:10]} at `{h.get('commit')}`: "
                f"n {s.get('n')}, accuracy {fmt(s.get('accuracy'))}, "
                f"rendered {fmt(s.get('rendered_accuracy'))}, status {fmt(s.get('status_acc'))}"
            )
    return out


def _answer_block(text: str) -> list[str]:
    return ["```text", *(text or "（空）").split("\n"), "```"]


def suite_lines(report: dict[str, Any], cap: int = 60) -> list[str]:
    suites = report.get("suites") or {}
    out: list[str] = []
    bad = [x for x in suites.get("switch", []) if not x["ok"]]
    if "switch" in suites:
        out += ["", f"## 话题切换不一致（{len(bad)} / {len(suites['switch'])}）", ""]
        out += (
            _md_table(
                ["pair", "A → B", "B alone", "B after A"],
                [
                    [
                        x["id"],
                        " → ".join(x["turns"]),
                        f"[{x['reference']['status']}] {_cites(x['reference']['cited'])}",
                        f"[{x['got']['status']}] {_cites(x['cited'])}",
                    ]
                    for x in bad[:cap]
                ],
            )
            if bad
            else ["无。"]
        )
    if "suggestions" in suites:
        bad = [x for x in suites["suggestions"] if not x["ok"]]
        out += ["", f"## 未能跟进的推荐问题（{len(bad)} / {len(suites['suggestions'])}）", ""]
        rows = []
        for x in bad[:cap]:
            check = x.get("check") or {}
            expected = (
                f"{check.get('kind')} {check.get('role')} "
                f"{check.get('number') or check.get('unit')} in {check.get('plans')}"
                if check
                else "answered"
            )
            rows.append([x["id"], " → ".join(x["turns"]), expected, got_text(x, 160)])
        out += (
            _md_table(["id", "conversation → suggestion", "expected", "got"], rows)
            if rows
            else ["无。"]
        )
    if "perturbations" in suites:
        bad = [x for x in suites["perturbations"] if not x["ok"]]
        out += ["", f"## 扰动后不一致（{len(bad)} / {len(suites['perturbations'])}）", ""]
        out += (
            _md_table(
                ["id", "original", "variant", "original got", "variant got"],
                [
                    [
                        x["id"],
                        x["original_turns"][-1],
                        x["turns"][-1],
                        f"[{x['reference']['status']}] {_cites(x['reference']['cited'])}",
                        f"[{x['got']['status']}] {_cites(x['cited'])}",
                    ]
                    for x in bad[:cap]
                ],
            )
            if bad
            else ["无。"]
        )
    if any(len([x for x in v if not x.get("ok")]) > cap for v in suites.values()):
        out += ["", f"（每节最多列出 {cap} 条；全部见 latest.json 的 `suites`。）"]
    return out


def markdown(report: dict[str, Any], history: list[dict[str, Any]] | None = None) -> str:
    systems = systems_in(report)
    out = [
        f"# 评测报告 {report['date']}",
        "",
        f"索引：`{report.get('generation')}`；嵌入：`{report['embed_mode']}`；模式：`{report['mode']}`；"
        f"用例：{report['n_cases']}",
        "",
        "规模：" + "，".join(f"{k} {v}" for k, v in (report.get("counts") or {}).items()),
        "",
    ]
    out += _md_table(["kind", "n", *TABLE_METRICS], table_rows(report))
    out += ["", "每格：" + " / ".join(SYSTEM_LABELS[s] for s in systems) + "。", ""]
    out += ["## 新指标（渲染文本、对话、扰动、主题）", ""]
    out += _md_table(["metric", "key", "ours", "n", "threshold", "state"], new_metric_rows(report))
    if len(systems) > 1:
        out += ["", "## 基线对照（检索）", "", NO_LLM_NOTE, ""]
        out += _md_table(["metric", *(SYSTEM_LABELS[s] for s in systems)], baseline_rows(report))
        out += [
            "",
            "top-5 ceiling: for list questions (unit → tasks, topics), the share of the expected "
            "set whose words are in a top-5 passage at all — the most a top-k retriever can "
            "give. Ours answers lists from the task tables, not from top-k retrieval.",
        ]
    out += ["", "## 阈值", ""]
    if report["threshold_failures"]:
        out += [f"- ❌ {f}" for f in report["threshold_failures"]]
    else:
        out.append("全部强制阈值均已达到。")
    if report.get("target_gaps"):
        out += ["", '目标差距（target，尚未强制；`"enforce": true` 后才会失败）：', ""]
        out += [f"- {f}" for f in report["target_gaps"]]
    history = history if history is not None else []
    out += ["", "## 趋势（evals/reports/history.jsonl）", "", *trend_lines(history)]
    if blind := blind_lines(history):
        out += ["", "## 盲测首次得分", "", *blind]
    for label in systems:
        results = report["failing"].get(label)
        if results is None:
            continue
        cap = None if label == "ours" else 40
        out += ["", f"## 未通过的用例（{label}，{len(results)} 条）", ""]
        if not results:
            out.append("无。")
            continue
        out += _md_table(
            ["id", "question", "expected", "got", "why"],
            [
                [r["id"], " → ".join(r["turns"]), expected_text(r), got_text(r), why(r)]
                for r in results[:cap]
            ],
        )
        if cap is not None and len(results) > cap:
            out.append(f"\n（仅列出前 {cap} 条。）")
    failing_ours = report["failing"].get("ours") or []
    if failing_ours:
        out += ["", f"## 未通过用例的回答原文（ours，{len(failing_ours)} 条）", ""]
        for r in failing_ours:
            out += [f"### {r['id']}：{' → '.join(r['turns'])}", "", f"- 期望：{expected_text(r)}"]
            out += [f"- 原因：{why(r)}", ""]
            out += _answer_block(r["got"]["answer"])
            out.append("")
    out += suite_lines(report)
    return "\n".join(out) + "\n"


def chart(report: dict[str, Any], path: Path) -> Path | None:
    """Accuracy by kind, ours vs the baselines; CJK labels when a CJK font is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import font_manager
    except ImportError:
        return None
    cjk = None
    for f in (
        sorted(Path("/usr/share/fonts").rglob("*CJK*")) if Path("/usr/share/fonts").exists() else []
    ):
        if "Regular" in f.name and f.suffix in (".ttc", ".otf", ".ttf"):
            font_manager.fontManager.addfont(str(f))
            cjk = font_manager.FontProperties(fname=str(f)).get_name()
            break
    if cjk:
        plt.rcParams["font.family"] = [cjk, "DejaVu Sans"]
    summary = report["summary"]
    ours = summary["ours"]
    kinds = kinds_in(ours)
    labels = [KIND_LABELS.get(k, k) if cjk else k for k in kinds]
    systems = systems_in(report)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(kinds) + 2), 4.2), dpi=120)
    width = 0.8 / len(systems)
    xs = list(range(len(kinds)))
    colors = {"ours": "#2f6db5", "baseline": "#c8c8c8", "hybrid": "#8a8a8a"}
    for i, system in enumerate(systems):
        offset = (i - (len(systems) - 1) / 2) * width
        ax.bar(
            [x + offset for x in xs],
            [summary[system].get(f"kind/{k}", {}).get("accuracy", 0) for k in kinds],
            width,
            label=system,
            color=colors.get(system),
        )
    ax.set_xticks(xs, labels, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.set_title(("各类问题准确率" if cjk else "Accuracy by kind") + f"  ({report['date'][:10]})")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def compact(report: dict[str, Any], limit: int = 300) -> dict[str, Any]:
    """What latest.json keeps: failing cases by id (their results are under `results`),
    baseline answers cut to `limit` characters, and the answer text of suite items only
    where they failed."""

    def cut(r: dict[str, Any]) -> dict[str, Any]:
        text = r["got"].get("answer") or ""
        return r | {"got": r["got"] | {"answer": text[:limit] + ("…" if len(text) > limit else "")}}

    def slim(x: dict[str, Any]) -> dict[str, Any]:
        return x if not x.get("ok") else x | {"got": {"status": x["got"].get("status")}}

    return report | {
        "failing": {k: [r["id"] for r in v] for k, v in report["failing"].items()},
        "results": {
            k: (v if k == "ours" else [cut(r) for r in v]) for k, v in report["results"].items()
        },
        "suites": {k: [slim(x) for x in v] for k, v in (report.get("suites") or {}).items()},
    }


def write_reports(report: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "latest.json", "md": out_dir / "latest.md"}
    paths["json"].write_text(json.dumps(compact(report), ensure_ascii=False, indent=1), "utf-8")
    paths["md"].write_text(markdown(report, read_history(out_dir)), "utf-8")
    png = chart(report, out_dir / "accuracy_by_kind.png")
    if png:
        paths["png"] = png
    return paths
