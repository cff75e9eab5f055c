"""Composition and verification on hand-built Evidence: no index, no model (pytest -m unit).

The plan here is invented (a 区 plan), so nothing below depends on the seed plans.
"""

from __future__ import annotations

import re

import pytest

from assistant.answer import compose as C
from assistant.answer.evidence import Evidence, Fact, TaskGroup
from assistant.answer.language import normalise, smalltalk_kind
from assistant.answer.understand import Query
from assistant.answer.verify import verify
from assistant.ingest.units import AliasTable, UnitRegistry
from assistant.records import Chunk, Plan, Task

pytestmark = pytest.mark.unit

PLAN = Plan("east-2024", "东湖区服务业开放实施方案", "东湖区人民政府", "东湖区", "东府发〔2024〕3号",
            "2024-03-01", "east.txt", "x", short_name="东湖", name_en="Donghu")


def task(n: int, text: str, lead: tuple[str, ...], resp: tuple[str, ...] = (), role: str = "配合单位") -> Task:
    return Task(PLAN.id, n, "", text, ("一、主要任务",), lead, resp, role, "、".join(lead), "、".join(resp), n, n)


T1 = task(1, "支持外商投资设立职业培训机构，开展面向企业的技能培训服务。", ("区人力社保局",), ("区商务局",))
T2 = task(2, "推进跨境电商综合服务平台建设，发展保税仓储和海外仓。", ("区商务局",), ())
T3 = task(3, "建设人力资源服务产业园，引进国际知名人力资源服务机构。", ("区人力社保局", "区委编办（区事业单位登记管理局）"), ("区财政局",))
CTX = C.Context({PLAN.id: PLAN}, {(PLAN.id, t.number): f"c{t.number}" for t in (T1, T2, T3)})
REGISTRY = UnitRegistry.build({PLAN.id: PLAN}, [T1, T2, T3], AliasTable())


def q(intent: str, **kw: object) -> Query:
    return Query(kw.pop("text", "问题"), intent, (PLAN.id,), **kw)  # type: ignore[arg-type]


def compose(fn, query: Query, ev: Evidence, lang: str = "zh") -> C.Draft:  # type: ignore[no-untyped-def]
    d = C.Draft(lang=lang)
    fn(query, ev, CTX, d)
    return d


def checked(d: C.Draft) -> None:
    v = verify("\n".join(d.lines), d.citations, REGISTRY, d.counts)
    assert v.ok, v.reasons


def test_unit_list_states_counts_keeps_roles_apart_and_every_item() -> None:
    ev = Evidence("answered", (
        TaskGroup("lead", PLAN.id, (T1, T3), "区人力社保局", "lead"),
        TaskGroup("responsible", PLAN.id, (), "区人力社保局", "responsible"),
    ))
    d = compose(C.compose_unit_tasks, q("unit_tasks", units=("区人力社保局",)), ev)
    text = "\n".join(d.lines)
    assert d.lines[0] == "在《东湖区服务业开放实施方案》中，区人力社保局牵头 2 项任务，没有作为配合单位参与的任务。"
    assert "1. 第1项：" in text and "2. 第3项：" in text  # the first items are never lost
    # units in the plan's own wording: the parenthesised name stays whole
    assert "牵头单位：区人力社保局、区委编办（区事业单位登记管理局）；配合单位：区财政局" in text
    assert [len(g["items"]) for g in d.groups] == [2]
    checked(d)


def test_list_ordinals_are_structure_not_claims() -> None:
    ev = Evidence("answered", (TaskGroup("topic", PLAN.id, (T1, T2, T3)),), topic="服务")
    d = compose(C.compose_topic, q("topic", topic="服务"), ev)
    assert d.lines[0] == "与“服务”有关的任务共 3 项："
    assert [ln[:2] for ln in d.lines if re.match(r"\d\. ", ln)] == ["1.", "2.", "3."]
    checked(d)


def test_verify_reports_but_the_composer_never_invents() -> None:
    d = compose(C.compose_task_units, q("task_units"), Evidence("answered", (TaskGroup("task", PLAN.id, (T2,)),)))
    assert d.lines[0] == "《东湖区服务业开放实施方案》第2项由区商务局牵头，未列明配合单位。"
    checked(d)
    bad = verify("第2项由区财政局牵头，补贴 30 万元 [1]", d.citations, REGISTRY, d.counts)
    assert not bad.ok and any("区财政局" in r for r in bad.reasons) and any("30" in r for r in bad.reasons)
    assert not verify("见 [7]", d.citations, REGISTRY, d.counts).ok


def test_excerpt_cuts_at_a_clause_but_never_before_the_asked_part() -> None:
    text = "加强与市级部门对接，积极争取高校在本区布局科研院所。" * 4 + "支持外商投资资信调查公司。"
    cut = C.excerpt(text, limit=40)
    assert cut.endswith("……") and cut[:-2].endswith("。")
    assert "资信调查" in C.excerpt(text, "资信调查", limit=40)
    assert C.excerpt("短文本。") == "短文本。"


def test_compare_says_when_a_plan_has_no_task_on_the_topic() -> None:
    other = Plan("west-2024", "西山区实施方案", "西山区人民政府", "西山区", None, None, "w.txt", "y", "西山")
    ctx = C.Context({PLAN.id: PLAN, other.id: other}, {})
    ev = Evidence("answered", (TaskGroup("only", PLAN.id, (T1,)), TaskGroup("only", other.id, ())),
                  topic="电商")
    d = C.Draft()
    C.compose_compare(q("compare", topic="电商"), ev, ctx, d)
    text = "\n".join(d.lines)
    assert "《西山区实施方案》没有这方面的任务" in text and "都有对应" not in text


def test_compare_lists_only_in_one_and_both() -> None:
    other = Plan("west-2024", "西山区实施方案", "西山区人民政府", "西山区", None, None, "w.txt", "y", "西山")
    w1 = Task(other.id, 5, "", "推进跨境电商综合服务平台建设。", (), ("区商务局",), (), "责任单位", "区商务局", "", 1, 1)
    ctx = C.Context({PLAN.id: PLAN, other.id: other}, {})
    ev = Evidence("answered", (
        TaskGroup("only", PLAN.id, (T1,)), TaskGroup("only", other.id, ()),
        TaskGroup("both", PLAN.id, (T2,), pairs=((T2, w1),)),
    ), topic="电商")
    d = C.Draft()
    C.compose_compare(q("compare", topic="电商"), ev, ctx, d)
    text = "\n".join(d.lines)
    assert "仅《东湖区服务业开放实施方案》有（1 项）" in text
    assert "仅《西山区实施方案》有的：无（它在这方面的任务在另一方案中都有对应，见下）" in text
    assert "两个方案都有的" in text and "↔ 《西山区实施方案》第5项" in text
    assert d.groups[-1]["items"][0]["related"][0]["task_number"] == 5
    # the first line answers with the counts: each plan's tasks, those that match, those of its own
    assert d.lines[0] == "关于“电商”：东湖 2 项，西山 1 项；相互对应的：东湖 1 项、西山 1 项；仅东湖有 1 项；西山没有独有的任务。"
    assert {2, 1} <= d.counts


def test_plan_fact_lines_cite_and_english_frame() -> None:
    header = Chunk(PLAN.id, "header", (), "东府发〔2024〕3号 东湖区人民政府", "h")
    ev = Evidence("answered", facts=(Fact(PLAN.id, "doc_number", PLAN.doc_number or "", header),))
    d = compose(C.compose_plan_facts, q("plan_facts", fact="doc_number"), ev)
    assert d.lines == ["《东湖区服务业开放实施方案》的文号为东府发〔2024〕3号 [1]。"]
    en = compose(C.compose_task_units, q("task_units", lang="en"), Evidence("answered", (TaskGroup("task", PLAN.id, (T1,)),)), "en")
    assert en.lines[0].startswith("Task 1 of the Donghu plan (《东湖区服务业开放实施方案》) is led by 区人力社保局")
    assert en.lines[2] == "   Lead: 区人力社保局; Responsible (配合单位): 区商务局"


def test_not_covered_never_echoes_the_question_and_offers_closest() -> None:
    d = compose(C.compose_not_covered, q("applies", text="企业所得税是不是按15%交？"), Evidence("not_covered", closest=(T2,)))
    text = "\n".join(d.lines)
    assert "15" not in text and "未涉及这一问题" in d.lines[0] and "第2项" in text


@pytest.mark.parametrize(
    ("raw", "text", "lang", "small"),
    [
        ("您好，我想咨询一下：区商务局牵头哪些任务？谢谢！", "区商务局牵头哪些任务", "zh", None),
        ("請問醫療機構的開放措施有哪些", "医疗机构的开放措施有哪些", "zh", None),
        ("第３１项谁牵头", "第31项谁牵头", "zh", None),
        ("你好！", "", "zh", "greeting"),
        ("好的，谢谢", "", "zh", "thanks"),
        ("Thanks!", "", "en", "thanks"),
        ("你能做什么？", "你能做什么?", "zh", "capabilities"),
        ("Which unit leads task 3?", "Which unit leads task 3?", "en", None),
    ],
)
def test_normalise_sets_wrappers_aside(raw: str, text: str, lang: str, small: str | None) -> None:
    turn = normalise(raw)
    assert (turn.text, turn.lang, smalltalk_kind(turn)) == (text, lang, small)


def test_a_missing_task_number_is_a_verified_statement_with_the_plan_size() -> None:
    ev = Evidence("not_covered", missing_numbers=(99,), plan_sizes=((PLAN.id, 3),))
    d = compose(C.compose_not_covered, q("task_units", task_numbers=(99,)), ev)
    assert d.lines == ["没有第99项任务：《东湖区服务业开放实施方案》共 3 项。"]
    checked(d)
    d = compose(C.compose_not_covered, q("task_units", task_numbers=(99,), lang="en"), ev, lang="en")
    assert d.lines[0].startswith("There is no task 99: ") and d.lines[0].endswith(" lists 3 tasks.")
    checked(d)


def test_unit_summary_uses_the_printed_name_with_its_parenthesised_alias() -> None:
    unit = "区委编办"
    t = task(4, "推进事业单位法定代表人制度改革。", ("区委编办（区事业单位登记管理局）",))
    t = Task(t.plan_id, t.number, t.heading, t.text, t.section_path, (unit,), (), "配合单位",
             "区委编办（区事业单位登记管理局）", "", 4, 4)
    ev = Evidence("answered", (TaskGroup("lead", PLAN.id, (t,), unit, "lead"),))
    d = compose(C.compose_unit_tasks, q("unit_tasks", units=(unit,), role="lead"), ev)
    assert d.lines[0].startswith("在《东湖区服务业开放实施方案》中，区委编办（区事业单位登记管理局）牵头 1 项任务")


@pytest.mark.unit
def test_section_items_follow_lead_phrases_not_passages() -> None:
    """Unnumbered principles led by a short phrase are itemised by the phrase, however the
    passages split them; each item cites every passage it is printed in."""
    from types import SimpleNamespace

    from assistant.answer.compose import section_items

    a = SimpleNamespace(id="a", text="坚持需求导向。围绕企业关切完善政策供给。坚持系统推进。统筹各方力量，")
    b = SimpleNamespace(id="b", text="形成工作合力，确保试点任务落地见效。坚持安全可控。守住风险底线，稳妥有序推进开放。")
    items = section_items((("基本原则", a), ("基本原则", b)))
    assert [label for label, _, _ in items] == ["坚持需求导向", "坚持系统推进", "坚持安全可控"]
    assert [[c.id for c in cs] for _, _, cs in items] == [["a"], ["a", "b"], ["b"]]
    assert items[1][1] == "统筹各方力量，形成工作合力，确保试点任务落地见效。"


@pytest.mark.unit
def test_section_items_by_heading_merge_a_paragraph_split_in_two() -> None:
    from types import SimpleNamespace

    from assistant.answer.compose import section_items

    parts = (
        ("（一）加强组织领导", SimpleNamespace(id="a", text="成立工作专班，统筹推进试点工作。")),
        ("（二）强化督查考核", SimpleNamespace(id="b", text="2. 强化督查考核。将试点任务纳入年度考核，")),
        ("（二）强化督查考核", SimpleNamespace(id="c", text="按季度通报进展。")),
    )
    items = section_items(parts)
    assert [(label, [c.id for c in cs]) for label, _, cs in items] == [
        ("加强组织领导", ["a"]), ("强化督查考核", ["b", "c"])]
    assert items[1][1] == "将试点任务纳入年度考核，按季度通报进展。"


def test_the_count_of_plans_left_unnamed_is_a_derived_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(C, "COUNTED_PLANS", 1)
    plans = {f"p{i}": Plan(f"p{i}", f"第{i}区方案", "x", f"第{i}区", None, None, "f", "h", f"P{i}", name_en=f"P{i}")
             for i in range(5)}
    ctx = C.Context(plans, {})
    for lang, phrase in (("en", "and 4 more"), ("zh", "等")):
        d = C.Draft(lang=lang)
        C._more_plans(ctx, d, list(plans), {p: 3 for p in plans})
        assert phrase in "\n".join(d.lines)
        assert 4 in d.counts or lang == "zh"  # the English line states it: verification must know it


def test_an_excerpt_is_never_cut_inside_quotation_marks() -> None:
    text = "坚持以高质量发展为主线，围绕区域定位，" * 3 + "聚焦“智慧港口、绿色航运、现代物流”三大主题，推进开放。"
    cut = C.excerpt(text, "聚焦 主题", limit=40, reach=480)
    assert "“智慧港口、绿色航运、现代物流”" in cut
    assert cut.count("“") == cut.count("”")


def test_an_excerpt_reaches_the_topics_words_said_together() -> None:
    # 发展 and 主题 are printed early apart; the section answers where it prints 发展主题
    text = "以推动高质量发展为主题，" + "坚持改革创新，扩大开放合作，" * 6 + "聚焦“港口物流”发展主题，推进开放。"
    assert "“港口物流”发展主题" in C.excerpt(text, "发展 主题", limit=40, reach=480)


def test_english_counts_agree_with_their_nouns() -> None:
    assert (C._many(1, "task"), C._many(4, "task")) == ("1 task", "4 tasks")


def test_an_excerpt_reaches_a_word_inside_the_asked_phrase() -> None:
    text = "推进企业增信担保改革。" * 12 + "支持互联网医疗发展，探索线上处方信息等互认制度。" + "建立健全制度。" * 5
    # the question's phrase ("开电子处方") is not in the text; its word 处方 is
    assert "处方" in C.excerpt(text, "开电子处方")


def test_latin_words_match_inflected_and_beside_chinese() -> None:
    from assistant.retrieval.retrieve import _has_word

    assert _has_word("a patented design", "patent") and _has_word("用python写", "python")
    assert not _has_word("patentable", "patent") and not _has_word("ipad", "ip")
