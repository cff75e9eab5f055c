"""The issue-10 harness pieces on hand-built answers: rendered-text checks, topic and
smalltalk kinds, target thresholds, perturbations, conversation suites, history, the
hybrid baseline's BM25 retriever, and `assistant eval --json` printing only JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.evals.cases import (
    TOPICS_FILE,
    Case,
    CaseError,
    discover_sets,
    load_topics,
    select_sets,
    validate_case,
)
from assistant.evals.conversations import (
    gold_follows,
    load_role_words,
    suggestion_check,
    switch_pairs,
)
from assistant.evals.metrics import stated_counts, topic_metrics
from assistant.evals.perturb import load_wrappers, swap_width, traditional, variants
from assistant.evals.rendered import (
    parse_items,
    quote_in_source,
    ref_numbers,
)
from assistant.evals.report import blind_first_runs, markdown
from assistant.evals.runner import check_thresholds, score_case, summarize, target_gaps
from tests.evals.helpers import case

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SZ, DJ = "shizhu-2022", "dianjiang-2021"


def cite(marker: int, plan: str, number: int | None, lead=(), resp=(), quote="", via="") -> dict:  # type: ignore[no-untyped-def]
    return {
        "marker": marker,
        "plan_id": plan,
        "plan_title": "",
        "task_number": number,
        "section": "",
        "quote": quote,
        "passage_id": "",
        "lead": list(lead),
        "responsible": list(resp),
        "role_word": "责任单位",
        "via": via,
    }


def answer(text: str, *cites: dict, status: str = "answered", **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"answer": text, "status": status, "intent": "", "citations": list(cites), **extra}


Q31 = "允许外商投资成立旅行社并开展出境游（赴台湾地区除外）业务。（牵头单位：县文化旅游委；责任单位：县投资促进中心）"
T31 = cite(1, SZ, 31, ["县文化旅游委"], ["县投资促进中心"], Q31)
Q32 = "支持外商参与传统风貌区、土家风情街区、高品质特色酒店等项目建设，投资旅游商品和设施。"
T32 = cite(2, SZ, 32, ["县文化旅游委"], ["县投资促进中心"], Q32)


# ---- rendered text ----
def test_rendered_task_units_needs_item_with_number_and_units(gold) -> None:  # type: ignore[no-untyped-def]
    c = case("task_units", {"plan_id": SZ, "task_number": 31, "role": "any"})
    good = "第31项：允许外商投资成立旅行社 [1]\n  牵头单位：县文旅委；责任单位：县投资促进中心"
    m = score_case(c, answer(good, T31), gold)
    assert m["pass"] and m["text_ok"] and m["rendered_ok"] and m["quotes_ok"]
    # the item line was lost (e.g. dropped by a verifier): units float without the number
    lost = "牵头单位：县文化旅游委；责任单位：县投资促进中心\n第2项另见 [1]"
    m = score_case(c, answer(lost, T31), gold)
    assert m["pass"] and not m["text_ok"] and not m["rendered_ok"]
    assert m["rendered_missing"] == [f"{SZ}#31 (no item)"]
    no_units = score_case(c, answer("第31项：允许外商投资成立旅行社 [1]", T31), gold)
    assert no_units["rendered_missing"] == [f"{SZ}#31 (units not named)"]


def test_rendered_unit_list_items_and_count(gold) -> None:  # type: ignore[no-untyped-def]
    c = case("unit_tasks", {"unit": "县文化旅游委", "plan_id": SZ, "role": "lead"})  # 31, 32, 33
    t33 = cite(3, SZ, 33, ["县文化旅游委", "县体育运动中心"], ["县商务委", "县城市管理局"])
    lines = [
        "县文化旅游委牵头的任务共 3 项：",
        "- 第31项：允许外商投资成立旅行社（牵头：县文化旅游委）[1]",
        "- 第32项：支持外商参与传统风貌区（牵头：县文化旅游委）[2]",
        "- 第33项：鼓励举办国际性文娱演出（牵头：县文化旅游委、县体育运动中心）[3]",
    ]
    m = score_case(c, answer("\n".join(lines), T31, T32, t33), gold)
    assert m["rendered_ok"] and m["rendered_count_ok"]
    wrong_count = ["县文化旅游委牵头的任务共 4 项：", *lines[1:]]
    m = score_case(c, answer("\n".join(wrong_count), T31, T32, t33), gold)
    assert m["pass"] and m["rendered_count_ok"] is False and not m["rendered_ok"]
    missing_second_lead = [*lines[:3], "- 第33项：鼓励举办国际性文娱演出（牵头：县文化旅游委）[3]"]
    m = score_case(c, answer("\n".join(missing_second_lead), T31, T32, t33), gold)
    assert m["rendered_missing"] == [f"{SZ}#33 (units not named)"]


def test_rendered_plan_context_and_english(gold, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = "【石柱】\n- 第2项：甲\n【垫江】\n- 第2项：乙\n- Task 7 (lead: 县商务委)"
    items = parse_items(text, gold.sources)
    assert [(i.numbers, i.plan_id) for i in items] == [((2,), SZ), ((2,), DJ), ((7,), DJ)]
    assert ref_numbers("第42至44项、第三十一项") == [42, 43, 44, 31]
    assert ref_numbers("tasks 3 and 5") == [3, 5]
    assert stated_counts("There are 3 tasks: task 1, task 2, task 5.") == {3}


def test_rendered_cut_item(gold) -> None:  # type: ignore[no-untyped-def]
    c = case("task_units", {"plan_id": SZ, "task_number": 31, "role": "lead"})
    cut = "第31项：允许外商投资……（牵头单位：县文化旅游委）[1]"
    m = score_case(c, answer(cut, T31), gold)
    assert m["cut_items"] == [f"{SZ}#31"] and not m["text_ok"]
    later = "第31项：允许外商投资成立旅行社并开展出境游……（牵头单位：县文化旅游委）[1]"
    assert score_case(c, answer(later, T31), gold)["text_ok"]


def test_quotes_must_be_in_the_source(gold) -> None:  # type: ignore[no-untyped-def]
    src = gold.sources
    assert quote_in_source(Q31, SZ, src)  # the table row plus its units label
    assert quote_in_source("允许外商投资成立旅行社……投资旅游商品和设施", SZ, src)
    assert quote_in_source("经过3年试点", DJ, src)  # the PDF prints "经过 3 年试点"
    assert not quote_in_source("允许外商投资成立旅行社并免征所得税。", SZ, src)
    assert not quote_in_source(Q31.replace("县投资促进中心", "县财政局"), SZ, src)
    c = case("task_units", {"plan_id": SZ, "task_number": 31, "role": "lead"})
    forged = cite(1, SZ, 31, ["县文化旅游委"], [], "允许外商投资成立旅行社，三年内免税。")
    m = score_case(c, answer("第31项（牵头单位：县文化旅游委）[1]", forged), gold)
    assert m["quotes_not_in_source"] == [f"{SZ}#31"] and not m["rendered_ok"]


def test_checks_field_when_present(gold) -> None:  # type: ignore[no-untyped-def]
    c = case("task_units", {"plan_id": SZ, "task_number": 31, "role": "lead"})
    text = "第31项（牵头单位：县文化旅游委）[1]"
    assert score_case(c, answer(text, T31), gold)["checks_ok"] is None  # today's answers
    ok = score_case(c, answer(text, T31, checks={"ok": True, "problems": []}), gold)
    assert ok["checks_ok"] and ok["lines_dropped"] == 0 and ok["text_ok"]
    bad = score_case(c, answer(text, T31, checks={"ok": False, "problems": ["x"]}), gold)
    assert bad["checks_ok"] is False and bad["lines_dropped"] == 1 and not bad["text_ok"]


# ---- topic / smalltalk ----
def test_topic_recall_precision(gold) -> None:  # type: ignore[no-untyped-def]
    c = case("topic", {"tasks": {SZ: [31, 32, 33]}, "also_ok": {SZ: [23]}})
    a = answer("", cite(1, SZ, 31), cite(2, SZ, 32), cite(3, SZ, 23), cite(4, SZ, 1))
    m = topic_metrics(c, a, gold)
    assert m["topical_recall"] == pytest.approx(2 / 3) and m["topical_precision"] == 0.75
    via = answer("", cite(1, SZ, 31), cite(2, SZ, 37, via="县级各部门"))
    assert topic_metrics(c, via, gold)["topical_precision"] == 1.0
    groups = answer(
        "",
        groups=[
            {
                "title": "",
                "plan_id": SZ,
                "items": [{"plan_id": SZ, "task_number": n} for n in (31, 32, 33)],
            }
        ],
    )
    m = score_case(c, groups, gold)
    assert m["topical_recall"] == 1.0 and m["pass"]


def test_topic_count_in_range(gold) -> None:  # type: ignore[no-untyped-def]
    c = case("topic", {"tasks": {SZ: [31, 32]}, "also_ok": {SZ: [33]}})
    lines = [
        "共 3 项：",
        "- 第31项（牵头：县文化旅游委）[1]",
        "- 第32项（牵头：县文化旅游委）[2]",
        "- 第33项（牵头：县文化旅游委、县体育运动中心）[3]",
    ]
    cites = (T31, T32, cite(3, SZ, 33, ["县文化旅游委", "县体育运动中心"]))
    assert score_case(c, answer("\n".join(lines), *cites), gold)["rendered_count_ok"]
    lines[0] = "共 5 项："
    assert score_case(c, answer("\n".join(lines), *cites), gold)["rendered_count_ok"] is False


def test_smalltalk(gold) -> None:  # type: ignore[no-untyped-def]
    c = Case("t-002", "smalltalk", ("谢谢！",), None, {"status": "answered", "intent": "smalltalk"})
    good = {"answer": "不客气。", "status": "answered", "intent": "smalltalk", "citations": []}
    assert score_case(c, good, gold)["pass"]
    assert not score_case(c, {**good, "intent": "out_of_scope"}, gold)["pass"]
    assert not score_case(c, {**good, "status": "out_of_scope"}, gold)["pass"]


def test_answer_language(gold) -> None:  # type: ignore[no-untyped-def]
    en = Case(
        "t-003", "out_of_scope", ("Tell me a joke",), None, {"status": "out_of_scope"}, lang="en"
    )
    refusal = {"answer": "Sorry.", "status": "out_of_scope", "citations": []}
    assert "lang_ok" not in score_case(en, refusal, gold)  # today's answers carry no lang
    assert score_case(en, refusal | {"lang": "en"}, gold)["lang_ok"]
    assert not score_case(en, refusal | {"lang": "zh"}, gold)["lang_ok"]


def test_new_kinds_validate() -> None:
    plans = {SZ, DJ}
    topic = {
        "id": "top-001",
        "kind": "topic",
        "turns": ["What measures concern tourism?"],
        "plan_id": None,
        "lang": "en",
        "expect": {"status": "answered", "tasks": {DJ: [], SZ: [31]}, "also_ok": {SZ: []}},
    }
    validate_case(topic, "ok", plans)
    talk = {**topic, "kind": "smalltalk", "expect": {"status": "answered", "intent": "smalltalk"}}
    validate_case(talk, "ok", plans)
    for bad in (
        {**topic, "lang": "fr"},
        {**topic, "expect": {"status": "answered", "tasks": {DJ: []}}},
        {**topic, "expect": {"status": "answered", "tasks": {SZ: ["31"]}}},
        {**talk, "expect": {"status": "answered", "intent": "greeting"}},
    ):
        with pytest.raises(CaseError):
            validate_case(bad, "bad", plans)


def test_topics_file_loads(gold) -> None:  # type: ignore[no-untyped-def]
    cases = load_topics(TOPICS_FILE, gold)
    assert len(cases) >= 100 and len({c.id for c in cases}) == len(cases)
    assert {c.lang for c in cases} == {"zh", "en"} and all(c.kind == "topic" for c in cases)
    assert all(not c.pooled for c in cases)


def test_blind_sets_only_by_name(tmp_path: Path) -> None:
    q, g = tmp_path / "q", tmp_path / "g"
    q.mkdir()
    g.mkdir()
    for name in ("business", "blind9"):
        (q / f"{name}.jsonl").write_text("", "utf-8")
    sets = discover_sets(q, g, None, None)
    assert set(sets) == {"business", "blind9"}
    assert set(select_sets(sets, None)) == {"business"}
    assert set(select_sets(sets, "handwritten")) == {"business"}
    assert set(select_sets(sets, "blind9")) == {"blind9"}
    real = select_sets(discover_sets(), None)
    assert not [s for s in real if s.startswith("blind")] and "topics" in real


# ---- thresholds ----
def test_target_thresholds_report_gaps_until_enforced() -> None:
    summary = summarize(
        [{"set": "x", "group": "k", "metrics": {"pass": True, "rendered_ok": False}}]
    )
    t = {"all.rendered_accuracy": {"min": 0.95, "target": True, "enforce": False}}
    assert check_thresholds(summary, t) == [] and len(target_gaps(summary, t)) == 1
    t["all.rendered_accuracy"]["enforce"] = True
    assert len(check_thresholds(summary, t)) == 1 and target_gaps(summary, t) == []
    plain = {"all.accuracy": {"min": 1.0}}
    assert check_thresholds(summary, plain) == [] and target_gaps(summary, plain) == []


def test_threshold_file_names_known_metrics() -> None:
    from assistant.evals.runner import AGGREGATES, THRESHOLDS_FILE, load_thresholds

    suite_metrics = {
        "accuracy", "switch_consistency", "ellipsis_accuracy", "suggestion_following",
        "answered_rate", "gold_accuracy", "consistency", "variant_accuracy",
    }  # fmt: skip
    for key, bound in load_thresholds(THRESHOLDS_FILE).items():
        group, _, metric = key.rpartition(".")
        assert metric in AGGREGATES or (
            group.startswith(("suite/", "perturb/")) and metric in suite_metrics
        ), key
        assert {"min", "max"} & set(bound), key
        assert set(bound) <= {"min", "max", "target", "enforce"}, key


# ---- perturbations ----
def test_perturbations() -> None:
    assert swap_width("第31项，谁牵头？") == "第３１项,谁牵头?"
    assert swap_width(swap_width("第31项,谁牵头?")) == "第31项,谁牵头?"
    assert traditional("县商务委牵头哪些任务？") == "縣商務委牽頭哪些任務？"
    wrappers = load_wrappers()
    assert wrappers["zh"] and wrappers["en"]
    zh = Case("biz-001", "applies", ("县商务委牵头哪些任务？",), None, {"status": "answered"})
    kinds = {k: v.question for k, v in variants(zh, wrappers)}
    assert set(kinds) == {"wrap", "width", "traditional"}
    assert "县商务委牵头哪些任务" in kinds["wrap"] and kinds["wrap"] != zh.question
    assert variants(zh, wrappers) == variants(zh, wrappers)  # deterministic
    en = Case("top-1", "topic", ("What measures concern tourism?",), None, {}, lang="en")
    assert {k for k, _ in variants(en, wrappers)} == {"wrap", "width"}


# ---- conversations ----
def test_switch_pairs_deterministic_and_mixed() -> None:
    cs = [
        Case(f"c-{i:03d}", kind, (f"q{i}",), pin, {"status": "answered"}, "business")
        for i, (kind, pin) in enumerate(
            [("applies", None), ("task_units", None), ("unit_tasks", None), ("applies", SZ),
             ("task_units", SZ), ("applies", None)]
        )
    ]  # fmt: skip
    multi = Case("c-100", "task_units", ("a", "b"), None, {}, "business")
    pairs = switch_pairs([*cs, multi], None)
    assert pairs == switch_pairs([*cs, multi], None) and pairs
    for a, b in pairs:
        assert a.kind != b.kind and a.plan_id == b.plan_id and len(a.turns) == len(b.turns) == 1
    assert len(switch_pairs(cs, 2)) == 2


def test_suggestion_checks(gold) -> None:  # type: ignore[no-untyped-def]
    words = load_role_words()
    prev = {"citations": [{"plan_id": SZ, "task_number": 31}]}
    who = suggestion_check("第32项由谁牵头？", prev, None, gold, words)
    assert who == {"kind": "task_units", "role": "lead", "number": 32, "plans": [SZ]}
    named = suggestion_check("垫江方案第3项由谁牵头？", prev, None, gold, words)
    assert named is not None and named["plans"] == [DJ]
    unit = suggestion_check("县文化旅游委还牵头哪些任务？", prev, None, gold, words)
    assert unit is not None and unit["kind"] == "unit_tasks" and unit["unit"] == "县文化旅游委"
    assert suggestion_check("垫江有类似措施吗？", prev, None, gold, words) is None
    # right for task 32 of 石柱: 县文化旅游委 leads, named in the text
    ok = answer("第32项：……牵头单位：县文化旅游委 [1]", T32 | {"marker": 1})
    assert gold_follows(who, ok, gold)
    assert not gold_follows(who, answer("第31项 县文化旅游委 [1]", T31), gold)
    lists = answer("", T31, T32, cite(3, SZ, 33))
    assert gold_follows(unit, lists, gold)  # scoped to 石柱 (the context) …
    assert not gold_follows(unit, answer("", T31), gold)


# ---- history ----
def test_history_records_blind_first_run() -> None:
    def result(set_name: str, ok: bool) -> dict:
        return {"set": set_name, "group": "applies", "pooled": True, "metrics": {"pass": ok}}

    report = {
        "blind_sets": ["blind7"],
        "results": {"ours": [result("blind7", True), result("blind7", False), result("x", True)]},
    }
    first = blind_first_runs(report, [])
    assert first["blind7"]["summary"]["accuracy"] == 0.5 and first["blind7"]["summary"]["n"] == 2
    assert blind_first_runs(report, [{"sets": ["blind7", "x"]}]) == {}


def test_markdown_shows_trend_and_failing_answer_text() -> None:
    failing = {
        "id": "c-001",
        "set": "x",
        "kind": "applies",
        "group": "applies",
        "turns": ["问题"],
        "expect": {"status": "answered"},
        "got": {"answer": "第一行\n第二行", "status": "answered", "citations": []},
        "metrics": {"pass": False, "status_ok": True},
    }
    report = {
        "date": "2026-11-30T00:00:00",
        "embed_mode": "hash",
        "mode": "extractive",
        "n_cases": 1,
        "summary": {"ours": summarize([failing])},
        "thresholds": {"all.accuracy": {"min": 1.0, "target": True}},
        "threshold_failures": [],
        "target_gaps": ["all.accuracy = 0，低于阈值 1.0"],
        "failing": {"ours": [failing]},
    }
    history = [
        {
            "date": "2026-11-29T10:00",
            "commit": "abc1234",
            "n_cases": 1,
            "summary": {"ours": {"all.accuracy": 0.5}},
        }
    ]
    md = markdown(report, history)
    assert "abc1234" in md and "第一行\n第二行" in md and "(target)" in md and "gap" in md


# ---- baselines ----
def test_jieba_bm25_retriever() -> None:
    from llama_index.core.schema import QueryBundle, TextNode

    from assistant.evals.baseline import JiebaBM25Retriever, tokenize

    assert "旅行社" in tokenize("允许外商投资成立旅行社。") and "。" not in tokenize("。")
    nodes = [
        TextNode(text="允许外商投资成立旅行社并开展出境游业务。", id_="a"),
        TextNode(text="支持港澳服务提供者设立独资医疗机构。", id_="b"),
        TextNode(text="加强知识产权保护。", id_="c"),
    ]
    r = JiebaBM25Retriever(nodes, similarity_top_k=2)
    hits = r.retrieve(QueryBundle("外资旅行社"))
    assert hits and hits[0].node.node_id == "a"
    assert r.retrieve(QueryBundle("？？")) == []


# ---- the CLI ----
@pytest.mark.slow
def test_cli_eval_json_prints_only_json(index_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
        "PYTHONPATH": str(ROOT),
        "ASSISTANT_INDEX_DIR": str(index_settings.index_dir),
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_CORPUS_DIR": str(index_settings.corpus_dir),
        "ASSISTANT_EVAL_REPORTS_DIR": str(tmp_path / "reports"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "--json", "--set", "unanswerable", "--no-baseline"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    data = json.loads(proc.stdout)  # nothing but JSON on stdout
    assert data["n_cases"] == 20 and data["sets"] == ["unanswerable"]
    assert "all" in data["summary"]["ours"] and isinstance(data["target_gaps"], list)
    history = (tmp_path / "reports" / "history.jsonl").read_text("utf-8").splitlines()
    entry = json.loads(history[-1])
    assert entry["date"] and "commit" in entry and entry["sets"] == ["unanswerable"]
