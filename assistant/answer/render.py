"""Plain-text rendering of an Answer for the terminal (sources listed under it)."""

from __future__ import annotations

from ..records import Answer

STATUS_LABEL = {"answered": "", "not_covered": "（方案未涉及）", "out_of_scope": "（超出范围）"}


def render_text(answer: Answer) -> str:
    lines = [answer.answer]
    if answer.notice:
        lines.insert(0, f"提示：{answer.notice}")
    if answer.citations:
        lines.append("\n来源：")
        for c in answer.citations:
            where = f"第{c.task_number}项" if c.task_number is not None else c.section
            lines.append(f"[{c.marker}] 《{c.plan_title}》{where}：{c.quote}")
    if answer.suggestions:
        lines.append("\n您还可以问：" + " / ".join(answer.suggestions))
    return "\n".join(lines) + (
        f"\n{STATUS_LABEL[answer.status]}" if STATUS_LABEL[answer.status] else ""
    )
