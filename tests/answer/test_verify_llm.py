"""The LLM verifier on an invented 区 plan: pure functions, no index, no model.

Each check is shown to drop what it must and to keep a faithful paraphrase, so that a
verifier that dropped everything (or nothing) fails here."""

from __future__ import annotations

import pytest

from assistant.answer.compose import _fact_line
from assistant.answer.evidence import Fact
from assistant.answer.numerals import normalise_numerals, parse_chinese_number
from assistant.answer.verify import (
    LLMCheck,
    claimed_role,
    split_sentences,
    support,
    verify,
    verify_llm,
)
from assistant.ingest.units import AliasTable, UnitRegistry
from assistant.records import Citation, Plan, Task

pytestmark = pytest.mark.unit

PLAN = Plan("east-2024", "东湖区服务业开放实施方案", "东湖区人民政府", "东湖区", None, "2024-03-01", "e.txt", "x")
T1 = Task(PLAN.id, 1, "", "支持外商投资设立职业培训机构，审批时限压缩至15个工作日。", ("一、任务",),
          ("区人力社保局",), ("区商务局",), "配合单位", "区人力社保局", "区商务局", 1, 1)
T2 = Task(PLAN.id, 2, "", "推进跨境电商综合服务平台建设，发展保税仓储。", ("一、任务",),
          ("区商务局",), (), "配合单位", "区商务局", "", 2, 2)
REGISTRY = UnitRegistry.build({PLAN.id: PLAN}, [T1, T2], AliasTable())
CITES = [
    Citation(1, PLAN.id, PLAN.title, 1, "一、任务", T1.quote(), lead=["区人力社保局"], responsible=["区商务局"], role_word="配合单位"),
    Citation(2, PLAN.id, PLAN.title, 2, "一、任务", T2.quote(), lead=["区商务局"], responsible=[], role_word="配合单位"),
]
SYSTEM = "你是问答助手。只依据带编号的参考资料作答，不使用参考资料以外的任何知识。"
CHECK = LLMCheck(CITES, REGISTRY, prompt_texts=[SYSTEM])


def kept(text: str) -> str:
    return verify_llm(text, CHECK).text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("三十个工作日", "30个工作日"), ("十五个工作日", "15个工作日"), ("一百零八项", "108项"),
     ("百分之二十", "20%"), ("第一批", "第1批"), ("统一管理", "统一管理"), ("进一步", "进一步"),
     ("一站式", "一站式"), ("十四五", "十四五"), ("二〇二四年", "2024年"), ("３０天", "30天")],
)
def test_chinese_numerals(text: str, expected: str) -> None:
    assert normalise_numerals(text) == expected


def test_parse_chinese_number() -> None:
    assert [parse_chinese_number(x) for x in ("十", "十二", "二十", "三百零五", "两千")] == [10, 12, 20, 305, 2000]
    assert parse_chinese_number("三五") == 35 and parse_chinese_number("十四五") is None


def test_split_sentences_keeps_markers_with_their_sentence() -> None:
    assert split_sentences("甲由A牵头 [1]。乙由B牵头。[2]\n丙") == ["甲由A牵头 [1]。", "乙由B牵头。[2]", "丙"]


def test_claimed_role_is_the_nearest_role_word_in_the_clause() -> None:
    s = "由区商务局牵头、区财政局配合"
    assert claimed_role(s, 1, 5) == "lead" and claimed_role(s, 8, 12) == "responsible"
    s2 = "区商务局不是牵头单位，区商务局负责"
    assert claimed_role(s2, 0, 4) == "" and claimed_role(s2, 11, 15) == ""


def test_support_scores_paraphrase_high_and_other_tasks_low() -> None:
    assert support("方案支持外商投资设立职业培训机构", T1.quote()) >= 0.9
    assert support("推进跨境电商综合服务平台建设", T1.quote()) < 0.2
    assert support("", T1.quote()) == 1.0


def test_faithful_sentences_pass() -> None:
    good = "外商投资设立职业培训机构由区人力社保局牵头，区商务局为配合单位 [1]。\n审批时限压缩至十五个工作日 [1]。"
    v = verify_llm(good, CHECK)
    assert v.ok and v.text == good


@pytest.mark.parametrize(
    "bad",
    [
        "职业培训机构由区商务局牵头 [1]。",  # a 配合单位 made lead
        "跨境电商平台由区人力社保局牵头 [2]。",  # a unit of another task
        "职业培训机构由区外资服务中心牵头 [1]。",  # a unit not in the registry
        "审批时限压缩至三十个工作日 [1]。",  # a number in Chinese numerals the source lacks
        "外资培训机构全额免征企业所得税，当日办结 [1]。",  # a claim without digits, unsupported
        "详见[办事指南](https://x.example/a) [1]。",
        "请访问 x.example 在线办理 [1]。",
        "<b>职业培训机构</b> [1]",
        "只依据带编号的参考资料作答，不使用参考资料以外的任何知识 [1]。",  # the prompt itself
        "支持外商投资设立职业培训机构 [5]。",  # no such source
    ],
)
def test_unsupported_sentences_are_dropped(bad: str) -> None:
    good = "支持外商投资设立职业培训机构 [1]。"
    v = verify_llm(good + bad, CHECK)
    assert v.text == good and v.dropped == [bad] and v.reasons


def test_extractive_verify_only_reports() -> None:
    text = "第1项由区人力社保局牵头 [1]。\n补贴30万元 [1]。"
    v = verify(text, CITES, REGISTRY)
    assert not v.ok and v.dropped == ["补贴30万元 [1]。"]  # reported; the caller never edits


@pytest.mark.parametrize("issued", ["2024年3月", "unknown", "2024-13-45", "2024"])
def test_issue_date_that_is_not_a_date_is_said_plainly(issued: str) -> None:
    line = _fact_line(Fact(PLAN.id, "issued", issued), "《东湖区服务业开放实施方案》", " [1]", False)
    assert issued in line and "不是有效的年月日" in line
    assert _fact_line(Fact(PLAN.id, "issued", "2024-03-01"), "《方案》", "", False) == "《方案》于2024年3月1日印发。"
