"""Topic matching on a hand-built set of tasks (no index): the rules that decide which tasks
a topical question covers. Invented task texts in the genre's style, not the seeds'."""

from __future__ import annotations

import pytest

from assistant.records import Task
from assistant.retrieval.topics import TopicMatcher

pytestmark = pytest.mark.unit

TEXTS = {
    1: "支持商业银行为小微企业开展知识产权质押贷款。",
    2: "推动融资担保机构扩大担保规模，降低担保费率。",
    3: "鼓励保险公司开发跨境商业医疗保险产品。",
    4: "支持社会力量举办非营利性医疗机构，发展互联网医院。",
    5: "推进零售药店开展网上药品销售。",
    6: "优化消费环境，建设夜间经济示范街区，培育特色商圈。",
    7: "全面落实营商环境评价，推行企业开办一窗受理。",
    8: "加强金融风险监测预警，完善金融监管协作机制。",
    9: "建设体育场馆，承办国际性体育赛事。",
    10: "开展校企合作办学，发展职业教育。",
    11: "推进政务服务线上线下融合办理。",
    12: "探索数据分级分类管理，保障数据安全。",
}
CATEGORIES = {
    "金融": ("金融", "融资", "贷款", "保险", "银行", "担保"),
    "融资": ("融资", "贷款", "担保", "质押"),
    "医疗": ("医疗", "医院", "药品", "药店", "医保"),
    "消费": ("消费", "商圈", "夜间经济"),
    "营商环境": ("营商环境", "一窗受理"),
    "文旅": ("文化", "旅游", "体育"),
    "数据": ("数据",),
}
PAIRS = (("看病", "医疗机构"), ("医院", "医疗机构"), ("finance", "金融"))


def task(n: int) -> Task:
    return Task("p", n, "", TEXTS[n], (), ("某局",), (), "责任单位", "", "", n, n)


@pytest.fixture(scope="module")
def matcher() -> TopicMatcher:
    docs = {("p", n): t for n, t in TEXTS.items()}
    return TopicMatcher(docs, "".join(TEXTS.values()), PAIRS, CATEGORIES)


def covered(m: TopicMatcher, topic: str) -> set[int]:
    return {n for n in TEXTS if m.matches(topic, task(n))}


def test_domain_word_covers_its_narrower_terms(matcher: TopicMatcher) -> None:
    assert covered(matcher, "金融") == {1, 2, 3, 8}


def test_policy_verb_beside_a_domain_weighs_little(matcher: TopicMatcher) -> None:
    # 促进 is said by no task; without the modifier rule it would sink 消费
    assert covered(matcher, "促进 消费") == covered(matcher, "消费") == {6}


def test_glossary_word_kept_whole(matcher: TopicMatcher) -> None:
    # 营商环境 is one domain, not 营商 + 环境 (task 6 says 消费环境)
    assert covered(matcher, "营商环境") == {7}


def test_examples_of_one_domain_name_the_domain(matcher: TopicMatcher) -> None:
    assert covered(matcher, "贷款、担保") == {1, 2}  # both are 融资 words: the narrowest domain
    assert covered(matcher, "看病、医院") == {3, 4, 5}  # everyday words for 医疗机构 → 医疗


def test_parts_of_one_word_are_not_examples(matcher: TopicMatcher) -> None:
    # 金融风险、金融监管 name parts of finance themselves: not every finance task
    assert covered(matcher, "金融风险、金融监管") == {8}


def test_long_word_the_plans_never_print_stands_for_its_parts(matcher: TopicMatcher) -> None:
    # 体育场所 is printed nowhere: its part 体育 carries it; 数据治理 needs 数据
    assert covered(matcher, "体育场所") == {9}
    assert 12 in covered(matcher, "数据治理")


def test_english_word_maps_to_the_domain(matcher: TopicMatcher) -> None:
    assert covered(matcher, "finance") == {1, 2, 3, 8}


def test_unrelated_topic_covers_nothing(matcher: TopicMatcher) -> None:
    assert covered(matcher, "无人机") == set()


def test_glossary_word_no_task_says_is_not_carried_by_its_neighbour() -> None:
    # 网上 is a known word (the glossary lists it) that no task prints: "网上业务" is not
    # covered by a task that only says 业务
    texts = {1: "开展售电业务。", 2: "发展互联网医疗。"}
    m = TopicMatcher({("p", n): t for n, t in texts.items()}, "".join(texts.values()), (),
                     {"互联网": ("互联网", "网上")})
    one = Task("p", 1, "", texts[1], (), ("某局",), (), "责任单位", "", "", 1, 1)
    assert not m.matches("网上 业务", one)


def test_everyday_words_for_one_term_are_not_examples_of_a_domain() -> None:
    # 碳交易 is an everyday word for 绿色债券: together they name green bonds, not all of 绿色
    texts = {1: "支持企业发行绿色债券。", 2: "推进屋顶光伏发电。"}
    m = TopicMatcher({("p", n): t for n, t in texts.items()}, "".join(texts.values()),
                     (("碳交易", "绿色债券"),), {"绿色": ("绿色", "光伏")})
    assert m.domain_of_examples("绿色债券、碳交易") == ""


def test_two_domains_in_one_word_need_both() -> None:
    # 外籍人才 is printed by one task, but means foreign (外籍) talent (人才) wherever said
    texts = {1: "试点外籍人才配额管理。", 2: "为境外专业人才提供执业便利。", 3: "引进国内高层次人才。",
             4: "便利境外游客入境。"}
    m = TopicMatcher({("p", n): t for n, t in texts.items()}, "".join(texts.values()), (),
                     {"外籍": ("外籍", "境外"), "人才": ("人才", "专业人才")})
    got = {n for n, t in texts.items()
           if m.matches("外籍人才", Task("p", n, "", t, (), ("某局",), (), "责任单位", "", "", n, n))}
    assert got == {1, 2}


def test_topics_the_plans_name_themselves_are_not_examples_of_a_domain(matcher: TopicMatcher) -> None:
    # 夜间经济 and 特色商圈 are both printed whole: two named topics, not examples of 消费
    assert matcher.domain_of_examples("夜间经济、特色商圈") == ""
    # short everyday examples still name their domain
    assert matcher.domain_of_examples("银行、贷款、担保") in ("融资", "金融")


def test_an_english_word_inside_a_mapped_phrase_means_the_phrase() -> None:
    texts = {1: "支持设立绿色金融合作平台。", 2: "开辟人才绿色通道。", 3: "完善金融服务。", 4: "发展金融科技。", 5: "防范金融风险。", 6: "扩大金融开放。"}
    docs = {("p", n): t for n, t in texts.items()}
    m = TopicMatcher(docs, "".join(texts.values()),
                     (("green finance", "绿色金融"), ("green", "绿色"), ("finance", "金融")), {"绿色": ("绿色", "光伏")})
    hits = {n for n, t in texts.items() if m.matches("green finance", Task("p", n, "", t, (), ("某局",), (), "责任单位", "", "", n, n))}
    assert hits == {1}


def test_a_domain_word_with_a_generic_head_means_the_domain() -> None:
    texts = {1: "鼓励保险公司发展科技保险。", 2: "推进保险业务创新。", 3: "发展跨境电商。"}
    docs = {("p", n): t for n, t in texts.items()}
    m = TopicMatcher(docs, "".join(texts.values()), (), {"保险": ("保险",)})
    hits = {n for n, t in texts.items() if m.matches("保险业务", Task("p", n, "", t, (), ("某局",), (), "责任单位", "", "", n, n))}
    assert hits == {1, 2}  # not only the task that prints 保险业务


def test_synonyms_of_one_term_do_not_borrow_a_members_domain() -> None:
    # "experts" and "talent" both mean 人才; 人才's member 外籍人才 holds 外籍, which is no
    # reason to read them as examples of 外籍 (every task on 境外 things)
    texts = {1: "为外籍高层次人才提供出入境便利。", 2: "支持与境外机构合作开发保险产品。", 3: "完善人才引进政策。"}
    m = TopicMatcher({("p", n): t for n, t in texts.items()}, "".join(texts.values()),
                     (("experts", "人才"), ("talent", "人才")),
                     {"人才": ("人才", "外籍人才"), "外籍": ("外籍", "境外")})
    got = {n for n, t in texts.items() if m.matches("experts、talent", Task("p", n, "", t, (), ("某局",), (), "责任单位", "", "", n, n))}
    assert got == {1, 3}


def test_a_phrase_the_cutter_splits_still_lends_its_term() -> None:
    # "搞售电" may be cut 搞售 / 电: the synonym phrase 售电 still maps to the plan's term
    texts = {1: "支持民营企业开展售电业务。", 2: "推进电子商务发展。"}
    m = TopicMatcher({("p", n): t for n, t in texts.items()}, "".join(texts.values()),
                     (("售电", "售电业务"),), {})
    words = [w for alt in m._terms("想搞售电") for w in alt]
    assert any("售电业务" in exp for _, exp, _ in words), words
    assert m.synonym_terms("想搞售电") == ("售电业务",)
    assert m.docs_saying("售电业务") == [("p", 1)]


def test_a_phrase_cut_into_single_characters_is_still_a_word() -> None:
    texts = {1: "支持民营企业开展售电业务。", 2: "推进电子商务发展。"}
    m = TopicMatcher({("p", n): t for n, t in texts.items()}, "".join(texts.values()),
                     (("卖电", "售电业务"),), {})
    assert m.support("做卖电的生意", Task("p", 1, "", texts[1], (), ("某局",), (), "责任单位", "", "", 1, 1)) >= 1.0


def test_a_words_weight_depends_on_what_it_maps_to_not_on_what_was_asked_before() -> None:
    # "finance" alone maps to 金融 (a word the tasks say); inside no phrase it maps to nothing.
    # Its weight must follow the mapping each time, whatever order questions come in.
    def fresh() -> TopicMatcher:
        return TopicMatcher({("p", n): t for n, t in TEXTS.items()}, "".join(TEXTS.values()), PAIRS, CATEGORIES)

    alone, first = fresh(), fresh()
    first._weight("finance", {"金融"}, [])
    assert first._weight("finance", set(), []) == alone._weight("finance", set(), []) == 0.0
    assert first._weight("finance", {"金融"}, []) > 0


def test_a_domain_word_in_a_quoted_name_is_part_of_the_name() -> None:
    texts = {1: "为外国人才提供人才签证和“绿色通道”服务。", 2: "支持企业发行绿色债券，发展绿色金融。"}
    cats = {"绿色": ("绿色", "绿色债券", "碳")}
    m = TopicMatcher({("p", n): t for n, t in texts.items()}, "".join(texts.values()), (), cats)
    hits = {n for n, t in texts.items() if m.matches("绿色", Task("p", n, "", t, (), ("某局",), (), "责任单位", "", "", n, n))}
    assert hits == {2}


def test_an_everyday_variant_character_becomes_the_printed_one() -> None:
    # the corpus prints 缴费 and 交易: 交费 is read as 缴费, 交易 and 外交 stay as they are
    m = TopicMatcher({("p", 1): "统一缴费窗口。推进交易便利。"}, "统一缴费窗口。推进交易便利。", (), {})
    assert m.sound_corrected("去哪交费？") == "去哪缴费？"
    assert m.sound_corrected("交易和外交") == "交易和外交"
