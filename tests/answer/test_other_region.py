"""A 区 plan the code has never seen: its own units, a 区级各部门 collective, an English name.

Nothing in the answer layer may be keyed to the seed plans (county level, their departments):
this plan is indexed for real (hash embeddings, fast) and asked the same kinds of questions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_settings

pytestmark = pytest.mark.integration

PLAN = """东湖区人民政府办公室关于印发东湖区服务业扩大开放实施方案的通知
东湖区服务业扩大开放实施方案
一、工作目标
经过两年努力，形成一批可复制推广的制度创新成果。
二、重点任务
（一）扩大开放
1. 支持外商投资设立职业技能培训机构，开展面向企业的技能培训服务。（牵头单位：区人力社保局；责任单位：区商务局、区教育局）
2. 推进跨境电商综合服务平台建设，发展保税仓储和海外仓。（牵头单位：区商务局；责任单位：区级各部门）
完成时限：2025年底前
3. 支持社会资本举办养老服务机构，加大养老服务供给。（牵头单位：区民政局；责任单位：区卫生健康局）
三、保障措施
（一）加强组织领导。区服务业扩大开放工作领导小组统筹推进各项任务。
"""
META = """id = "donghu-2024"
title = "东湖区服务业扩大开放实施方案"
issuer = "东湖区人民政府办公室"
region = "东湖区"
name_en = "Donghu"
doc_number = ""
issued = "2024-05-06"
"""


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from assistant.answer.assistant import Assistant
    from assistant.ingest.index import build_index

    tmp: Path = tmp_path_factory.mktemp("district")
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / "donghu-2024.txt").write_text(PLAN, "utf-8")
    (corpus / "donghu-2024.toml").write_text(META, "utf-8")
    root = Path(__file__).resolve().parents[2] / "corpus"
    (corpus / "synonyms.toml").write_text((root / "synonyms.toml").read_text("utf-8"), "utf-8")
    settings = make_settings(tmp, corpus_dir=corpus, embed_mode="hash")
    build_index(settings)
    return Assistant(settings)


def ask(assistant, text: str):  # type: ignore[no-untyped-def]
    return assistant.answer([{"role": "user", "content": text}])


def test_district_units_aliases_and_collectives(district) -> None:  # type: ignore[no-untyped-def]
    a = ask(district, "商务局牵头哪些任务？")  # the alias without the level, as in 县 plans
    assert a.intent == "unit_tasks" and [c.task_number for c in a.citations] == [2]
    a = ask(district, "东湖区教育局作为责任单位参与哪些任务？")
    assert a.summary.startswith("在《东湖区服务业扩大开放实施方案》中，区教育局作为责任单位参与 1 项任务")
    # 区级各部门 involves every district department, listed apart from the named list
    assert "此外，以下 1 项任务的责任单位写为“区级各部门”，也涉及区教育局" in a.answer
    assert a.checks["ok"]


def test_district_topics_facts_english_and_scope(district) -> None:  # type: ignore[no-untyped-def]
    a = ask(district, "养老方面有哪些措施？")
    assert a.intent == "topic" and [c.task_number for c in a.citations] == [3]
    a = ask(district, "方案的工作目标是什么？")
    assert a.intent == "plan_facts" and "经过两年努力" in a.answer
    a = ask(district, "Who leads task 1 of the Donghu plan?")
    assert a.lang == "en" and a.summary.startswith("Task 1 of the Donghu plan") and "区人力社保局" in a.summary
    assert ask(district, "今天天气怎么样？").status == "out_of_scope"
    assert ask(district, "东湖区公租房怎么申请？").status == "not_covered"


def test_deadline_is_stated_from_the_plan(district) -> None:  # type: ignore[no-untyped-def]
    a = ask(district, "第2项什么时候完成？")
    assert "完成时限：2025年底前" in a.answer and a.checks["ok"], a.answer
    b = ask(district, "第1项什么时候完成？")
    assert "未写明这项任务的完成时限" in b.answer and "2025" not in b.answer
    # a unit's list shows the deadline with the task that has one
    c = ask(district, "区商务局牵头哪些任务？")
    assert "完成时限：2025年底前" in c.answer and c.checks["ok"], c.answer
