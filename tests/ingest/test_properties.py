"""Property tests (hypothesis): plans generated in every supported format, with random units,
numbering, deadlines and line breaks, parse back to exactly the generated records; random text
never crashes the parser and never yields a unit the text does not contain."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.ingest.parse import parse_plan
from assistant.records import Plan

pytestmark = pytest.mark.unit

TEXT_CHARS = "推进建设完善服务体系机制开放创新发展试点平台企业项目市场数字经济产业质量标准示范园区改革优化环境"
UNIT_CHARS = "商务财政科技教育交通水利农业文化旅游卫生健康统计审计应急林业民政司法体育"
SUFFIXES = ("局", "委", "中心", "办", "服务中心")
CN = "一二三四五六七八九十"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
FORMATS = ("labelled", "cooperate", "share", "plain_rule", "lines", "cell_table", "md_table")
NUMBERING = ("1.", "1、", "（一）", "(1)", "①", "一、")


@dataclass(frozen=True)
class Gen:
    number: int
    text: str
    lead: tuple[str, ...]
    responsible: tuple[str, ...]
    deadline: str


def marker(style: str, n: int) -> str:
    cn = CN[n - 1] if n <= 10 else f"十{CN[n - 11]}"
    return {
        "1.": f"{n}. ",
        "1、": f"{n}、",
        "（一）": f"（{cn}）",
        "(1)": f"({n})",
        "①": CIRCLED[n - 1],
        "一、": f"{cn}、",
    }[style]


@st.composite
def plans(draw):  # type: ignore[no-untyped-def]
    level = draw(st.sampled_from("县区市"))
    fmt = draw(st.sampled_from(FORMATS))
    style = draw(st.sampled_from(NUMBERING))
    word = st.text(UNIT_CHARS, min_size=2, max_size=4)
    pool = draw(
        st.lists(
            st.builds(lambda w, s: f"{level}{w}{s}", word, st.sampled_from(SUFFIXES)),
            min_size=4,
            max_size=8,
            unique=True,
        )
    )
    n_tasks = draw(st.integers(1, 6))
    start = 1 if fmt in ("cell_table", "md_table") else draw(st.integers(1, 3))
    tasks = []
    for i in range(n_tasks):
        names = draw(st.permutations(pool))
        n_lead = 1 if fmt == "plain_rule" else draw(st.integers(1, 2))
        n_resp = draw(st.integers(0 if fmt not in ("plain_rule",) else 1, 3))
        deadline = draw(
            st.sampled_from(("", "", "2023年底前", "2024年6月底前", "2025年12月底前", "持续推进"))
        )
        if fmt in ("cooperate", "share") and deadline == "持续推进":
            deadline = ""
        text = draw(st.text(TEXT_CHARS, min_size=4, max_size=30)) + "。"
        tasks.append(
            Gen(
                start + i,
                text,
                tuple(names[:n_lead]),
                tuple(names[n_lead : n_lead + n_resp]),
                deadline,
            )
        )
    gaps = draw(
        st.lists(st.sampled_from(("\n", "\n\n", "\n\n\n")), min_size=n_tasks, max_size=n_tasks)
    )
    crlf = draw(st.booleans())
    return fmt, style, level, tasks, gaps, crlf


def render(fmt: str, style: str, level: str, tasks: list[Gen], gaps: list[str]) -> str:
    head = [f"某某{level}服务业开放试点实施方案", "", "为推进试点工作，制定本方案。", ""]
    if style != "一、":
        head += ["一、主要任务", ""]
    body: list[str] = []
    if fmt in ("cell_table", "md_table"):
        with_deadline = any(t.deadline for t in tasks)
        cols = ["序号", "重点任务", "牵头单位", "责任单位"] + (
            ["完成时限"] if with_deadline else []
        )
        body += ["附件", "任务分工表"]
        if fmt == "md_table":
            body += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        else:
            body += ["\t" + " ".join(c) if c.endswith("单位") else "\t" + c for c in cols] + [""]
        for t in tasks:
            cells = [str(t.number), t.text, "、".join(t.lead), "、".join(t.responsible)]
            cells += [t.deadline] if with_deadline else []
            if fmt == "md_table":
                body.append("| " + " | ".join(cells) + " |")
            else:
                body += [f"\t{c}" for c in cells] + [""]
        return "\n".join(head + body) + "\n"
    for i, (t, gap) in enumerate(zip(tasks, gaps, strict=True)):
        lead, resp = "、".join(t.lead), "、".join(t.responsible)
        m = marker(style, t.number)
        if fmt == "labelled":
            parts = [f"牵头单位：{lead}"] + ([f"责任单位：{resp}"] if resp else [])
            parts += [f"完成时限：{t.deadline}"] if t.deadline else []
            para = f"{m}{t.text}（{'；'.join(parts)}）"
        elif fmt == "cooperate":
            note = f"{lead}牵头" + (f"，{resp}配合" if resp else "")
            para = f"{m}{t.text}（{note}）" + (f"（{t.deadline}完成）" if t.deadline else "")
        elif fmt == "share":
            note = f"{lead}牵头" + (f"，{resp}等按职责分工负责" if resp else "负责")
            para = f"{m}{t.text}（{note}" + (f"；{t.deadline}完成）" if t.deadline else "）")
        elif fmt == "plain_rule":
            rule = "，列第一位者为牵头单位，下同" if i == 0 else ""
            para = f"{m}{t.text}（{lead}、{resp}负责{rule}）" + (
                f"（{t.deadline}完成）" if t.deadline else ""
            )
        else:  # lines
            para = f"{m}{t.text}\n牵头单位：{lead}"
            para += f"\n责任单位：{resp}" if resp else ""
            para += f"\n完成时限：{t.deadline}" if t.deadline else ""
        body.append(para + gap)
    return "\n".join(head + body) + "\n二、保障措施\n\n加强组织领导。\n"


def plan_of(level: str) -> Plan:
    return Plan("gen", "某某方案", "", f"某某{level}", None, None, "gen.txt", "x")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_generated_plans_parse_back_exactly(case) -> None:  # type: ignore[no-untyped-def]
    fmt, style, level, tasks, gaps, crlf = case
    text = render(fmt, style, level, tasks, gaps)
    if crlf:
        text = text.replace("\n", "\r\n")
    r = parse_plan(plan_of(level), text)
    got = [(t.number, t.text, t.lead, t.responsible, t.deadline) for t in r.tasks]
    want = [(t.number, t.text, t.lead, t.responsible, t.deadline) for t in tasks]
    assert got == want, text
    role = "配合单位" if fmt == "cooperate" else "责任单位"
    assert all(t.role_word == role for t in r.tasks if t.responsible), text
    assert not [i for i in r.issues if i.level == "error"], text


NOISE = (
    TEXT_CHARS
    + UNIT_CHARS
    + "局委办中心牵头配合负责责任单位完成时限各有关县区市（）()：:；;，、。1234567890一二三①\n\t "
)


@settings(max_examples=150, deadline=None)
@given(st.text(NOISE, max_size=300))
def test_random_text_never_crashes_or_invents_units(text: str) -> None:
    r = parse_plan(plan_of("县"), text)
    flat = re.sub(r"\s+", "", text)
    for t in r.tasks:
        assert t.number > 0
        for name in t.units():
            for piece in name.split("、"):
                assert piece in flat, (name, text)
