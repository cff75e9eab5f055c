"""Reports: a table on stdout, evals/reports/latest.{json,md}, and a chart (PNG)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .cases import KINDS

KIND_ORDER = ("gen_task_units", "gen_unit_tasks", *KINDS)
KIND_LABELS = {
    "gen_task_units": "生成·任务→单位",
    "gen_unit_tasks": "生成·单位→任务",
    "task_units": "任务→单位",
    "unit_tasks": "单位→任务",
    "applies": "适用措施",
    "compare": "两县对比",
    "plan_facts": "方案事实",
    "not_covered": "未涉及",
    "out_of_scope": "超出范围",
}
TABLE_METRICS = (
    "accuracy",
    "status_acc",
    "recall@5",
    "text_recall@5",
    "mrr",
    "citation_precision",
    "unsupported_rate",
    "latency_ms_mean",
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


def table_rows(
    ours: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]] | None
) -> list[list[str]]:
    rows = []
    for group in [f"kind/{k}" for k in kinds_in(ours)] + ["handwritten", "generated", "all"]:
        if group not in ours:
            continue
        o, b = ours[group], (base or {}).get(group, {})
        row = [group.removeprefix("kind/"), str(o["n"])]
        for m in TABLE_METRICS:
            row.append(fmt(o.get(m), m) + (f" / {fmt(b.get(m), m)}" if base is not None else ""))
        rows.append(row)
    return rows


def text_table(ours: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]] | None) -> str:
    header = ["kind", "n", *TABLE_METRICS]
    rows = [header, *table_rows(ours, base)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    note = "（每格：ours / baseline）" if base is not None else "（仅 ours）"
    return "\n".join(lines) + "\n" + note


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
    ):
        if m.get(key):
            parts.append(f"{key}={m[key]}")
    if r["kind"] == "task_units" and m.get("stated") is not None:
        parts.append(f"stated={m['stated']}")
    if r["kind"] in ("applies", "compare") and m.get("recall@5") is not None:
        parts.append(f"recall@5={m['recall@5']:.2f}")
    return "; ".join(parts)


def markdown(report: dict[str, Any]) -> str:
    ours, base = report["summary"]["ours"], report["summary"].get("baseline")
    out = [
        f"# 评测报告 {report['date']}",
        "",
        f"索引：`{report.get('generation')}`；嵌入：`{report['embed_mode']}`；模式：`{report['mode']}`；"
        f"用例：{report['n_cases']}",
        "",
    ]
    header = ["kind", "n", *TABLE_METRICS]
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in table_rows(ours, base)]
    out += ["", "每格：ours / baseline。" if base is not None else "（未运行 baseline）", ""]
    out += ["## 阈值", ""]
    if report["threshold_failures"]:
        out += [f"- ❌ {f}" for f in report["threshold_failures"]]
    else:
        out.append("全部达到阈值。")
    for label in ("ours", "baseline"):
        results = report["failing"].get(label)
        if results is None:
            continue
        out += ["", f"## 未通过的用例（{label}，{len(results)} 条）", ""]
        if not results:
            out.append("无。")
            continue
        out += ["| id | question | expected | got | why |", "|---|---|---|---|---|"]
        for r in results:
            q = " → ".join(r["turns"])
            out.append(
                "| "
                + " | ".join(
                    _md_escape(x) for x in (r["id"], q, expected_text(r), got_text(r), why(r))
                )
                + " |"
            )
    return "\n".join(out) + "\n"


def chart(report: dict[str, Any], path: Path) -> Path | None:
    """Accuracy by kind, ours vs baseline; CJK labels when a CJK font is installed."""
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
    ours, base = report["summary"]["ours"], report["summary"].get("baseline")
    kinds = kinds_in(ours)
    labels = [KIND_LABELS.get(k, k) if cjk else k for k in kinds]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(kinds) + 2), 4.2), dpi=120)
    width = 0.38 if base else 0.6
    xs = list(range(len(kinds)))
    ax.bar(
        [x - (width / 2 if base else 0) for x in xs],
        [ours[f"kind/{k}"].get("accuracy", 0) for k in kinds],
        width,
        label="ours",
        color="#2f6db5",
    )
    if base:
        ax.bar(
            [x + width / 2 for x in xs],
            [base.get(f"kind/{k}", {}).get("accuracy", 0) for k in kinds],
            width,
            label="baseline",
            color="#c8c8c8",
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


def write_reports(report: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "latest.json", "md": out_dir / "latest.md"}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
    paths["md"].write_text(markdown(report), "utf-8")
    png = chart(report, out_dir / "accuracy_by_kind.png")
    if png:
        paths["png"] = png
    return paths
