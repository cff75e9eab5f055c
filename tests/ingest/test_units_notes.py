"""Unit notes read as pure functions, and units scoped to their issuing government."""

from __future__ import annotations

import pytest

from assistant.ingest.notes import parse_note
from assistant.ingest.units import AliasTable, UnitRegistry
from assistant.records import Plan, Task

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("note", "first_leads", "want"),
    [
        (
            "县商务局、县财政局负责，排在第一位的部门为牵头部门",
            True,
            (("县商务局",), ("县财政局",)),
        ),
        (
            "区科技局、区财政局负责，第一个单位为牵头单位，下同",
            True,
            (("区科技局",), ("区财政局",)),
        ),
        ("由市商务局牵头，市财政局配合", False, (("市商务局",), ("市财政局",))),
        ("市发展改革委、市商务局牵头负责", False, (("市发展改革委", "市商务局"), ())),
        ("市统计局负责", False, ((), ("市统计局",))),
        ("含港澳台", False, None),
        ("由企业自行负责", False, None),
        ("2022—2025年", False, None),
        ("各区、县级市人民政府负责", True, (("各区、县级市人民政府",), ())),
    ],
)
def test_notes(note: str, first_leads: bool, want) -> None:  # type: ignore[no-untyped-def]
    got = parse_note(note, first_leads)
    assert (
        None if got is None or not (got.lead or got.responsible) else (got.lead, got.responsible)
    ) == want


def test_deadline_only_notes() -> None:
    for note, deadline in (
        ("2023年6月底前完成", "2023年6月底前"),
        ("2022年底前", "2022年底前"),
        ("持续推进", "持续推进"),
        ("2024年第二季度前完成", "2024年第二季度前"),
    ):
        got = parse_note(note, False)
        assert got is not None and got.deadline == deadline and not got.lead, note


def _task(pid: str, n: int, lead: str) -> Task:
    return Task(pid, n, "", "某任务。", (), (lead,), (), "责任单位", lead, "", 1, 1)


def test_same_named_units_of_two_cities_never_merge() -> None:
    plans = {
        "east-2023": Plan("east-2023", "东川市方案", "", "东川市", None, None, "a.txt", "a"),
        "east-2024": Plan("east-2024", "东川市方案二", "", "东川市", None, None, "b.txt", "b"),
        "west-2023": Plan("west-2023", "西岭市方案", "", "西岭市", None, None, "c.txt", "c"),
    }
    tasks = [
        _task("east-2023", 1, "市发展改革委"),
        _task("east-2024", 1, "市发展改革委"),
        _task("west-2023", 1, "市发展改革委"),
    ]
    reg = UnitRegistry.build(plans, tasks, AliasTable())
    east, west = reg.scoped[("东川市", "市发展改革委")], reg.scoped[("西岭市", "市发展改革委")]
    assert east.plans == ("east-2023", "east-2024") and west.plans == ("west-2023",)
    assert "东川发展改革委" in east.aliases and "东川发展改革委" not in west.aliases
    assert reg.resolve("东川发展改革委") == [east]  # one region's plans share, the other is apart
    assert reg.resolve("西岭市发展改革委") == [west]
    both = reg.resolve("市发展改革委")  # asked with no plan: one name, both regions' plans
    assert [u.plans for u in both] == [("east-2023", "east-2024", "west-2023")]
    assert reg.resolve("发展改革委", ["west-2023"]) == [west]


def test_a_department_is_found_by_another_suffix() -> None:
    from assistant.ingest.units import suffix_aliases

    names = {"区商务委", "区投资促进中心", "区税务局", "区财政局", "区金融局", "区金融委", "区级各部门"}
    out = suffix_aliases(names, {"某某区"})
    assert {"区商务局", "商务局"} <= out[("某某区", "区商务委")]
    assert "投资促进局" in out[("某某区", "区投资促进中心")]
    # two departments share the core 金融: neither gets the other's suffix
    assert ("某某区", "区金融局") not in out and ("某某区", "区金融委") not in out
    assert ("某某区", "区级各部门") not in out  # a collective unit is no department
