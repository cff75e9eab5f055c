"""How a question is read, on the real index: the asker's function words (几个, 这样, 今年) name
no topic; "…上支持不支持" is a yes-or-no question, not a list frame; follow-ups that name only
a role, "那部分", or the last question's own noun in another plan; a paragraph of a part of the
plan that holds no task, found by its sub-heading."""

from __future__ import annotations

import pytest

from assistant.retrieval.topics import function_word

pytestmark = pytest.mark.integration


def ask(assistant, *turns: str):  # type: ignore[no-untyped-def]
    messages = []
    for t in turns[:-1]:
        a = assistant.answer([*messages, {"role": "user", "content": t}])
        messages += [{"role": "user", "content": t}, {"role": "assistant", "content": a.answer}]
    return assistant.answer([*messages, {"role": "user", "content": turns[-1]}])


def cited(a) -> list[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    return [(c.plan_id, c.task_number) for c in a.citations]


def test_function_words_by_the_segmenters_dictionary() -> None:
    assert function_word("几个") and function_word("这样") and function_word("一部分")
    assert not function_word("今年") and function_word("今年", loose=True)  # time words only loosely
    assert not function_word("光伏") and not function_word("养老院")


def test_a_story_told_with_many_small_words_is_still_about_its_topic(assistant) -> None:  # type: ignore[no-untyped-def]
    # "上" of 政策上/规上 frames no list; "支持不支持" asks yes or no about the asker's case
    a = ask(assistant, "我们镇上好几户人家想在自家屋顶装光伏发电，垫江政策上支持不支持？")
    assert (a.status, a.intent) == ("answered", "applies") and cited(a)[0] == ("dianjiang-2021", 3)
    a = ask(assistant, "我们是一家做软件的规上企业，今年想在石柱申报高新技术企业，听说认定有简化，具体是怎么规定的？")
    assert a.status == "answered" and cited(a)[0] == ("shizhu-2022", 38)


def test_a_question_asking_for_support_is_a_policy_question(assistant) -> None:  # type: ignore[no-untyped-def]
    # a topic no plan speaks of, asked as "有没有支持": not covered, never out of scope; and the
    # "那X呢？…" turn keeps the plan the conversation was about
    a = ask(assistant, "石柱有哪些养老方面的政策？", "那幼儿看护呢？小孩托管的地方有没有支持")
    assert a.status == "not_covered"
    assert {c.plan_id for c in a.citations} <= {"shizhu-2022"}


def test_a_follow_up_naming_only_a_role_asks_about_the_best_item(assistant) -> None:  # type: ignore[no-untyped-def]
    first = ask(assistant, "垫江那个贸易金融区块链平台说的是什么")
    a = ask(assistant, "垫江那个贸易金融区块链平台说的是什么", "牵头的是哪几家？")
    assert a.intent == "task_units" and cited(a) == [cited(first)[0]]


def test_which_task_is_about_a_topic_then_the_other_plans_list(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱方案里跟人才引进有关的是哪几条？", "那垫江呢，有哪些？")
    assert (a.status, a.intent) == ("answered", "topic")
    assert ("dianjiang-2021", 9) in cited(a) and {p for p, _ in cited(a)} == {"dianjiang-2021"}


def test_the_same_part_of_another_plan(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱方案的组织实施有哪些要求？", "垫江对应的那部分呢？")
    assert (a.status, a.intent) == ("answered", "plan_facts")
    assert {p for p, _ in cited(a)} == {"dianjiang-2021"} and "宣传" in a.answer


def test_the_last_questions_noun_in_another_plan_is_that_question_there(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "我在石柱有家药店，能不能在网上卖药？", "那如果药店开在垫江呢？")
    b = ask(assistant, "我在垫江有家药店，能不能在网上卖药？")
    # (no 垫江 task says any of it: the nearest offered after the first follow the search's order,
    # and the follow-up is searched with the words of the question it repeats)
    assert a.intent == b.intent and a.status == b.status and cited(a)[0] == cited(b)[0]


def test_a_sub_heading_of_a_part_without_tasks_is_answered_from_its_paragraph(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱对任务清单管理提了什么要求？")
    assert a.status == "answered" and "按月调度" in a.answer
    assert a.citations and all(c.task_number is None for c in a.citations)
    # a task that repeats as much of the question answers it, not the paragraph
    a = ask(assistant, "外商投资企业投诉工作机制由谁牵头？")
    assert a.citations and all(c.task_number is not None for c in a.citations)


def test_one_of_a_tasks_units_then_all_its_tasks(assistant) -> None:  # type: ignore[no-untyped-def]
    # 其中 after the units of one task picks one of those units: its tasks are the plan's
    a = ask(assistant, "石柱第54项由哪些单位负责？", "其中县金融工作事务中心还牵头了哪些任务？")
    assert a.intent == "unit_tasks" and len({n for _, n in cited(a)}) > 1


def test_a_recommendation_is_no_comparison(assistant) -> None:  # type: ignore[no-untyped-def]
    # 比较 in 比较好 is "rather", and which hotel or restaurant to pick is not the plans' matter
    a = ask(assistant, "垫江第3项说的什么", "好的谢谢。下个月去石柱出差，住哪家宾馆比较好？")
    assert (a.status, a.intent, a.citations) == ("out_of_scope", "out_of_scope", [])


def test_what_a_rule_requires_or_forbids_is_a_policy_question(assistant) -> None:  # type: ignore[no-untyped-def]
    for text in ("石柱城区哪些路段禁止停放电动车？", "在垫江考驾照对视力有什么要求？"):
        a = ask(assistant, text)
        assert a.status == "not_covered", text


def test_a_part_of_the_plan_named_in_quotes(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江方案“保障措施”这部分写了哪些内容？")
    assert (a.status, a.intent) == ("answered", "plan_facts") and "宣传" in a.answer


def test_a_case_told_then_pointed_at_is_the_askers_case(assistant) -> None:  # type: ignore[no-untyped-def]
    # "…，有这方面的政策吗" points at the case just told: what fits it, not every task on its words
    a = ask(assistant, "石柱一家做跨境电商的小企业，想在直播带货上多投入，有这方面的政策吗")
    assert (a.status, a.intent) == ("answered", "applies") and cited(a)[0] == ("shizhu-2022", 26)


def test_whether_something_may_be_done_in_a_plans_region_is_a_policy_question(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江县城里可以养大型犬吗？")
    assert a.status == "not_covered"
    a = ask(assistant, "Could you recommend a good book for the weekend?")
    assert (a.status, a.citations) == ("out_of_scope", [])


def test_the_plan_is_no_topic_of_a_topic_question(store) -> None:  # type: ignore[no-untyped-def]
    from assistant.answer.understand import understand

    q = understand("方案里涉及外商投资的任务有哪些？", store.plans, store.registry)
    assert q.intent == "topic" and q.topic == "外商投资"


def test_its_responsible_units_and_their_tasks(assistant) -> None:  # type: ignore[no-untyped-def]
    # "它的责任单位还负责哪些任务？" is about the task's responsible unit, in any role; "它的
    # 责任单位呢？" and "…分别是？" ask who they are
    a = ask(assistant, "垫江第6项讲的是什么？", "它的责任单位还参与了哪些任务？")
    assert a.intent == "unit_tasks" and ("dianjiang-2021", 6) in cited(a) and len(cited(a)) > 1
    a = ask(assistant, "垫江第6项讲的是什么？", "它的责任单位呢？")
    assert a.intent == "task_units" and cited(a) == [("dianjiang-2021", 6)]
    a = ask(assistant, "垫江方案里关于一窗受理的是哪一项？", "这项的牵头单位和责任单位分别是？")
    assert a.intent == "task_units" and "责任单位为" in a.answer


def test_a_story_with_food_asking_for_support_is_no_chore(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "我们想在石柱老街开几家夜宵小吃店，带动夜间消费，方案里有这方面的支持吗？")
    assert a.status == "answered" and ("shizhu-2022", 25) in cited(a)


def test_going_on_with_the_last_matter(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱有支持直播带货的政策吗？", "我只是个村里的个体户，也可以吗")
    assert a.status == "answered" and cited(a)[0] == ("shizhu-2022", 26)
    a = ask(assistant, "垫江有没有支持光伏发电的政策？", "我们厂房顶上空着，也能装吗")
    assert a.status == "answered" and cited(a)[0] == ("dianjiang-2021", 3)


def test_what_the_plans_write_about_a_topic(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "关于外籍人才，方案里是怎么写的？")
    assert a.intent == "topic" and a.status == "answered"
    # asking what the plans say of something they never mention is not covered, not out of scope
    a = ask(assistant, "小区垃圾分类这块，方案里有什么安排吗")
    assert a.status == "not_covered"


def test_praise_of_the_answer_is_small_talk(assistant) -> None:  # type: ignore[no-untyped-def]
    for text in ("辛苦啦，你讲解得真专业", "你介绍得很清楚，谢谢"):
        a = ask(assistant, text)
        assert (a.intent, a.citations) == ("smalltalk", []), text


def test_a_plan_fact_without_a_plan_is_about_the_plan_talked_about(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江方案一共有几项任务？", "那保障措施部分写了些什么")
    assert a.intent == "plan_facts" and {p for p, _ in cited(a)} == {"dianjiang-2021"}


def test_compare_it_with_the_other_plan(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱外商投资企业投诉机制由谁牵头？", "跟垫江比比看")
    assert a.intent == "compare" and {p for p, _ in cited(a)} == {"shizhu-2022", "dianjiang-2021"}
    a = ask(assistant, "Who leads the task on foreign-invested enterprise complaints in Shizhu?",
            "And which units support it?")
    assert a.intent == "task_units" and cited(a) == [("shizhu-2022", 36)]


def test_english_role_and_period_wording(assistant) -> None:  # type: ignore[no-untyped-def]
    # "in charge of it" asks who leads the task just shown; "does the plan support this" asks
    # whether the plan helps, not for the supporting units
    a = ask(assistant, "What is task 31 in the Shizhu plan about?", "Which departments are in charge of it?")
    assert a.intent == "task_units" and cited(a) == [("shizhu-2022", 31)]
    a = ask(assistant, "We run a travel agency with foreign capital in Shizhu and want to offer outbound tours. Does the plan support this?")
    assert a.intent == "applies" and cited(a)[0] == ("shizhu-2022", 31)
    a = ask(assistant, "How many years is the Shizhu pilot meant to run?")
    assert a.intent == "plan_facts" and a.status == "answered"


def test_a_role_said_not_to_count(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱县商务委作为责任单位（不包括牵头的）参与了哪些任务？")
    assert a.intent == "unit_tasks" and "牵头的任务" not in a.answer


def test_its_responsible_units_when_the_task_lists_none(assistant) -> None:  # type: ignore[no-untyped-def]
    # never the lead units in their place: the task lists no responsible unit, and it says so
    a = ask(assistant, "垫江第3项是什么？", "它的责任单位还参与了哪些任务？")
    assert a.intent == "task_units" and cited(a) == [("dianjiang-2021", 3)] and "未列明责任单位" in a.answer


def test_a_sub_heading_asked_as_a_list_question(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江在加大宣传力度方面有哪些安排？")
    assert a.status == "answered" and a.citations and all(c.task_number is None for c in a.citations)


def test_the_same_case_with_a_changed_condition(assistant) -> None:  # type: ignore[no-untyped-def]
    # "那要是…呢，能行不？" is the last question again with one condition changed
    a = ask(assistant, "我是澳门的医生，想在石柱开家独资诊所，可以吗？", "那要是跟本地人合伙，办非营利的呢，能行不？")
    assert a.status == "answered" and ("shizhu-2022", 14) in cited(a)


def test_both_sides_compared_after_one_task(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱进口科研设备免税是哪一项？", "两边比比看")
    assert a.intent == "compare" and {p for p, _ in cited(a)} == {"shizhu-2022", "dianjiang-2021"}


def test_praise_of_the_assistant_itself(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "嘿嘿，你这个小机器人还蛮靠谱的嘛")
    assert (a.intent, a.citations) == ("smalltalk", [])


def test_the_corresponding_part_after_a_sub_heading_answer(assistant) -> None:  # type: ignore[no-untyped-def]
    # the other plan has no such sub-heading: its part of the same kind (组织实施 ~ 保障措施)
    a = ask(assistant, "石柱方案里任务清单管理有什么要求？", "垫江对应的那部分呢？")
    assert a.status == "answered" and {p for p, _ in cited(a)} == {"dianjiang-2021"}
    assert all(n is None for _, n in cited(a)) and "宣传" in a.answer


def test_similar_measures_elsewhere_are_like_the_task_shown(assistant) -> None:  # type: ignore[no-untyped-def]
    # "B县有类似措施吗？" after one of A县's tasks: a B县 task like it (the comparison's measure),
    # not one that shares a word or two of the question (外资 → 外商投资, 机构)
    first = ask(assistant, "港澳人士开独资医疗机构那项，配合单位是哪个？")
    assert cited(first) == [("shizhu-2022", 13)]
    assert not any("类似" in s for s in first.suggestions)  # its answer would be "none": not offered
    a = ask(assistant, "港澳人士开独资医疗机构那项，配合单位是哪个？", "垫江有没有类似的？")
    assert a.status == "not_covered" and ("shizhu-2022", 13) in cited(a) and "相近的任务" in a.answer
    assert not any(s.startswith("石柱有类似") for s in a.suggestions)  # not back where it came from
    a = ask(assistant, "在石柱的外资企业要投诉，到底该找哪个单位？", "垫江有类似措施吗？")
    # the first line names the task it is like (cited first), then 垫江's
    assert a.status == "answered" and cited(a) == [("shizhu-2022", 36), ("dianjiang-2021", 7)]
    assert a.answer.startswith("《垫江县服务业扩大开放综合试点工作方案》中与《石柱县服务业扩大开放综合试点实施方案》第36项 [1] 最相近")
    assert not any("类似" in s for s in a.suggestions)  # no chip back to where the asker came from


def test_similar_measures_in_a_plan_far_from_the_question_are_none_not_out_of_scope(assistant) -> None:  # type: ignore[no-untyped-def]
    # B县's tasks say too little of the question for it to read as one about the plans on its
    # own, yet "B县有类似措施吗？" asks about the plans' measures: none like the task shown, and
    # the closest B县 has (its intellectual-property task)
    first = "在石柱打知识产权官司，想先申请保全，简单的案子能不能快点审，这块归哪个单位主抓？"
    a = ask(assistant, first, "垫江有类似措施吗？")
    assert (a.status, a.intent) == ("not_covered", "task_units") and "相近的任务" in a.answer
    assert cited(a)[0] == ("shizhu-2022", 52) and ("dianjiang-2021", 10) in cited(a)[1:3]


def test_which_of_a_units_list_it_leads_keeps_lead_and_responsible_apart(assistant) -> None:  # type: ignore[no-untyped-def]
    # after a unit's tasks in every role, "其中哪些是它牵头的？" asks which of them it leads, not
    # who leads each (the list would then include the task it only supports)
    first = "县市场监管局在垫江方案中负责哪些任务？"
    a = ask(assistant, first, "其中哪些是它牵头的？")
    assert a.intent == "unit_tasks" and cited(a) == [("dianjiang-2021", n) for n in (1, 7, 10)]
    a = ask(assistant, first, "其中它作为责任单位的是哪些？")
    assert a.intent == "unit_tasks" and cited(a) == [("dianjiang-2021", 6)]
    a = ask(assistant, first, "它们的责任单位分别是谁？")  # asks who: each task's units
    assert a.intent == "task_units" and len(cited(a)) == 4


def test_a_follow_up_with_a_topic_of_its_own_is_no_similar_request(assistant) -> None:  # type: ignore[no-untyped-def]
    from assistant.answer.understand import understand

    store = assistant.holder.get()
    prev = understand("石柱对中药材趁鲜切制有什么支持？", store.plans, store.registry)
    assert understand("垫江有类似措施吗？", store.plans, store.registry, None, prev).similar
    assert not understand("那垫江有没有类似的中药材政策？", store.plans, store.registry, None, prev).similar
    assert not understand("石柱有类似措施吗？", store.plans, store.registry, None, prev).similar  # same plan


def test_a_turn_that_only_announces_questions_is_small_talk(assistant) -> None:  # type: ignore[no-untyped-def]
    for text in ("你好，我想问几个问题", "问个问题", "Hi, can I ask you a few questions?"):
        a = ask(assistant, text)
        assert (a.status, a.intent) == ("answered", "smalltalk") and not a.citations, text
    a = ask(assistant, "我想问几个问题：石柱第3项谁牵头？")  # the question that follows is answered
    assert a.intent == "task_units" and cited(a) == [("shizhu-2022", 3)]


def test_this_item_of_another_plan_is_not_the_last_lists_item(assistant) -> None:  # type: ignore[no-untyped-def]
    # after "B县 has nothing like it", "那A县这项由谁牵头？" is A县's task talked about, not B县's list
    a = ask(assistant, "我们是一家外资公司，打算在石柱成立一家旅行社，还想做出境游，政策上允许吗？",
            "垫江有类似措施吗？", "那石柱这项由谁牵头？")
    assert a.status == "answered" and cited(a) == [("shizhu-2022", 31)]


def test_nothing_elsewhere_says_it_is_nothing_like_the_task_shown(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "我们是一家外资公司，打算在石柱成立一家旅行社，还想做出境游，政策上允许吗？", "垫江有类似措施吗？")
    assert a.status == "not_covered" and ("shizhu-2022", 31) in cited(a)
    assert "没有与《石柱县服务业扩大开放综合试点实施方案》第31项" in a.answer
    a = ask(assistant, "What is the minimum wage in Shizhu?")
    assert a.status == "not_covered" and "does not cover this question" in a.answer
    a = ask(assistant, "What is the minimum wage in the two counties?")
    assert a.status == "not_covered" and "do not cover this question" in a.answer
    a = ask(assistant, "Does Dianjiang have a measure on foreign talent visas? Who leads it?")
    assert a.status == "answered" and cited(a) == [("dianjiang-2021", 9)]  # a talent visa is an entry matter


def test_it_in_both_plans_is_the_unit_of_the_task_just_given(assistant) -> None:  # type: ignore[no-untyped-def]
    # "它在两个方案里还牵头了哪些？" after one task: that task's lead unit, in every plan (not the
    # same task again)
    a = ask(assistant, "石柱第42项谁牵头", "它在两个方案里还牵头了哪些？")
    assert a.intent == "unit_tasks" and set(cited(a)) == {("dianjiang-2021", 9), ("shizhu-2022", 22), ("shizhu-2022", 42)}
    a = ask(assistant, "石柱第42项谁牵头", "它还牵头了哪些？")  # no plan said: the plan talked about
    assert set(cited(a)) == {("shizhu-2022", 22), ("shizhu-2022", 42)}


def test_asking_to_be_given_a_list_is_no_case_of_ones_own(assistant) -> None:  # type: ignore[no-untyped-def]
    # "帮我列一下" asks for the list; it tells nothing of the asker
    a = ask(assistant, "对外国人才有哪些便利措施，帮我列一下")
    assert a.intent == "topic" and {("shizhu-2022", 42), ("shizhu-2022", 43), ("shizhu-2022", 44)} <= set(cited(a))


def test_a_compound_printed_whole_is_also_said_part_by_part(assistant) -> None:  # type: ignore[no-untyped-def]
    # 知识产权质押融资 in one task; 知识产权 … 质押贷款 (融资's domain word) in another: both on it
    store = assistant.holder.get()
    m = __import__("assistant.answer.evidence", fromlist=["matcher"]).matcher(store)
    on_it = [t.number for t in store.plan_tasks("shizhu-2022") if m.matches("知识产权质押融资", t)]
    assert on_it == [2, 3]
    assert m._every_part("知识产权质押融资")[1:] == ["知识产权", "质押", "融资"]
    assert m._every_part("融资") == [] and m._every_part("跨境电商综合试验区") == []  # short, or not printed


def test_english_working_groups_are_the_organisation_part(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "How many opening-up work promotion groups does the Dianjiang plan set up?")
    assert a.intent == "plan_facts" and "9 个开放工作推进组" in a.answer


def test_similar_after_a_units_list_is_that_unit_elsewhere(assistant) -> None:  # type: ignore[no-untyped-def]
    # after a unit's tasks, "垫江有类似的吗？" asks what that unit does there (no filtering by likeness)
    a = ask(assistant, "县商务委在石柱方案中牵头哪些任务？", "垫江有类似的吗？")
    assert a.intent == "unit_tasks" and cited(a) == [("dianjiang-2021", 7)]
    # English: "anything similar" is no topic of its own
    a = ask(assistant, "Which tasks does the Shizhu commerce commission lead?", "Does Dianjiang have anything similar?")
    assert a.intent == "unit_tasks" and cited(a) == [("dianjiang-2021", 7)]
    a = ask(assistant, "Who handles complaints from foreign-invested enterprises in Shizhu?",
            "Does Dianjiang have anything similar?")
    assert a.status == "answered" and cited(a) == [("shizhu-2022", 36), ("dianjiang-2021", 7)]


def test_after_not_covered_the_first_chip_shows_what_the_plan_does_cover(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱的公租房怎么申请？")
    assert a.status == "not_covered" and a.suggestions[0] == "石柱方案的任务分为哪几个部分？"
    b = ask(assistant, "石柱的公租房怎么申请？", a.suggestions[0])
    assert (b.status, b.intent) == ("answered", "plan_facts") and "55 项任务分为 4 个部分" in b.answer
    a = ask(assistant, "What is the minimum wage in Shizhu?")
    assert a.suggestions[0] == "What parts are the tasks of the Shizhu plan divided into?"


def test_being_treated_differently_is_no_comparison(assistant) -> None:  # type: ignore[no-untyped-def]
    # 区别对待 (discriminated against) is a complaint, not a question about differences
    a = ask(assistant, "我们是港资企业，在石柱投资的时候感觉被区别对待了，方案里说外商投诉归哪个部门牵头处理？")
    assert a.intent == "task_units" and cited(a) == [("shizhu-2022", 36)]
    a = ask(assistant, "两个县在外商投资企业投诉方面有什么区别？")
    assert a.intent == "compare"


def test_an_english_who_to_contact_follow_up_asks_for_the_measure_just_shown(assistant) -> None:  # type: ignore[no-untyped-def]
    # contact / handle / talk to frame a who-question as 联系 / 办理 / 找谁 do: no topic of their own
    first = "I run a foreign-owned travel agency. Can I operate outbound tours from Shizhu?"
    for follow in ("Who should I contact?", "Which department handles it?", "Who do I talk to?"):
        a = ask(assistant, first, follow)
        assert (a.status, a.intent) == ("answered", "task_units") and cited(a) == [("shizhu-2022", 31)], follow


def test_the_chip_for_a_units_other_role_leads_to_tasks(assistant) -> None:  # type: ignore[no-untyped-def]
    # 县司法局 leads nothing and is a responsible unit in one plan only: the chip names that plan
    # (it named the first plan asked about, whose answer was "none")
    a = ask(assistant, "县司法局牵头了哪些？")
    assert a.suggestions[0] == "县司法局在石柱方案中作为责任单位参与哪些任务？"
    b = ask(assistant, "县司法局牵头了哪些？", a.suggestions[0])
    assert b.intent == "unit_tasks" and cited(b)[:2] == [("shizhu-2022", 51), ("shizhu-2022", 52)]
    # a unit with no task of the other role anywhere asked about is offered no such chip
    a = ask(assistant, "县教委在石柱方案中牵头哪些任务？")
    assert not any("责任单位" in s for s in a.suggestions)


def test_an_english_travel_agency_is_no_tourism_measure(assistant) -> None:  # type: ignore[no-untyped-def]
    # "travel agency" is 旅行社, as in Chinese: not also 旅游, which every tourism task says
    a = ask(assistant, "I run a foreign-owned travel agency. Can I operate outbound tours from Shizhu?")
    assert a.status == "answered" and cited(a) == [("shizhu-2022", 31)]


def test_a_units_tasks_on_a_topic_are_that_units_tasks_on_it(assistant) -> None:  # type: ignore[no-untyped-def]
    # "X的任务，跟Y有关的" narrows X's list to Y (it listed all of X's tasks)
    a = ask(assistant, "石柱县委网信办的任务，跟数据安全有关的")
    assert a.intent == "unit_tasks" and cited(a) == [("shizhu-2022", 49), ("shizhu-2022", 50)]
    assert "与“数据安全”有关的任务里" in a.answer and a.export is None  # the export is the whole list
    a = ask(assistant, "县财政局负责的任务里有哪些和科技有关？")
    assert {p for p, _ in cited(a)} == {"dianjiang-2021", "shizhu-2022"} and ("dianjiang-2021", 2) not in cited(a)
    # the unit itself named in the frame leaves no topic: its whole list
    a = ask(assistant, "垫江方案里跟发改委有关的任务都有哪些？")
    assert len(cited(a)) == 4


def test_a_word_inside_an_everyday_phrase_means_the_phrase(assistant) -> None:  # type: ignore[no-untyped-def]
    # 网上 of 网上卖药 (互联网药品销售) is not the online-services domain: the online-drug-sales task
    # alone, not the internet-hospital and online-insurance tasks beside it; likewise 跨境 of 跨境电商
    a = ask(assistant, "我们药店能不能在网上卖药？")
    assert a.status == "answered" and cited(a) == [("shizhu-2022", 18)]
    a = ask(assistant, "石柱对跨境电商有什么支持？")
    assert cited(a)[0] == ("shizhu-2022", 26) and ("shizhu-2022", 31) not in cited(a)  # not 出境游


def test_how_many_after_a_list_counts_it_without_listing_it_again(assistant) -> None:  # type: ignore[no-untyped-def]
    # "一共几项？" after a unit's list: the count and the tasks by number, each cited, not every
    # task's text and units again; "…参与了哪些？" asks for a list, and gets one
    first = "垫江县财政局配合的任务有哪些"
    a = ask(assistant, first, "一共几项")
    assert a.intent == "unit_tasks" and "参与 3 项任务" in a.answer and a.checks["ok"]
    assert "第1项 [1]、第2项 [2]、第4项 [3]" in a.answer and "牵头单位" not in a.answer
    b = ask(assistant, "石柱县文旅委牵头哪几项？", "那它在垫江方案里参与了哪些？")
    assert "牵头单位" in b.answer  # a list with each task's units


def test_the_department_an_asker_says_they_work_in_is_what_we_means(assistant) -> None:  # type: ignore[no-untyped-def]
    # "我在X工作" alone: X's tasks in every role; later "我们单位…" / "我们配合的" is X, in the plan
    # the conversation named, across a thank-you; a business's "我们" stays the asker's case
    first = ask(assistant, "你好，我在石柱县卫生健康委上班")
    assert (first.status, first.intent) == ("answered", "unit_tasks")
    assert ("shizhu-2022", 13) in cited(first) and {p for p, _ in cited(first)} == {"shizhu-2022"}
    a = ask(assistant, "你好，我在石柱县卫生健康委上班", "谢谢", "我们单位作为责任单位的任务有哪些？")
    assert a.intent == "unit_tasks" and cited(a) and ("shizhu-2022", 13) not in cited(a)
    assert "县卫生健康委" in a.answer and "牵头的任务" not in a.answer
    a = ask(assistant, "I work at the Commerce Commission in Shizhu.", "Which tasks does our department lead?")
    assert a.intent == "unit_tasks" and ("shizhu-2022", 23) in cited(a)
    a = ask(assistant, "我们是一家诊所", "我们能开电子处方吗？")
    assert a.intent == "applies"


def test_the_date_of_the_issuing_notice_is_the_plans_issue_date(assistant) -> None:  # type: ignore[no-untyped-def]
    for q in ("Which day is the circular that issued the Shizhu plan dated?", "下发石柱方案的通知是几号发的？"):
        a = ask(assistant, q)
        assert (a.status, a.intent) == ("answered", "plan_facts"), q
        assert "2022" in a.answer and "24" in a.answer, q


def test_an_everyday_variant_character_reads_as_the_plans_word(assistant) -> None:  # type: ignore[no-untyped-def]
    # 交税 for the plans' 缴税: the one-window property-and-tax task, not "not covered"
    a = ask(assistant, "石柱这边卖了个铺子，交税和过户能在一个地方办吗？")
    assert a.status == "answered" and cited(a)[0] == ("shizhu-2022", 34)


def test_an_english_collective_line_agrees_with_its_count(assistant) -> None:  # type: ignore[no-untyped-def]
    # one task naming every county department: "1 task names", never "1 task name"
    a = ask(assistant, "In the Shizhu plan, which tasks does the Human Resources and Social Security Bureau support?")
    assert "In addition, 1 task names “" in a.answer and "1 task name “" not in a.answer


def test_the_other_plan_after_an_answer_covering_every_plan(assistant) -> None:  # type: ignore[no-untyped-def]
    # not the same answer again: it says every plan was shown, offers the question per plan, and
    # the turn after it follows on from the question before it
    first = ask(assistant, "县市场监管局牵头哪些任务？")
    a = ask(assistant, "县市场监管局牵头哪些任务？", "那另一个县呢？")
    assert a.answer != first.answer and a.intent == "smalltalk" and not a.citations
    assert "全部方案" in a.answer
    assert a.suggestions[:2] == ["垫江方案：县市场监管局牵头哪些任务？", "石柱方案：县市场监管局牵头哪些任务？"]
    for chip in a.suggestions[:2]:
        assert ask(assistant, chip).intent == "unit_tasks"
    b = ask(assistant, "县市场监管局牵头哪些任务？", "那另一个县呢？", "石柱的呢？")
    assert b.intent == "unit_tasks" and {p for p, _ in cited(b)} == {"shizhu-2022"}
    # a question that named both plans is not offered "in one plan" (it would contradict itself)
    c = ask(assistant, "两个县在金融方面都有哪些措施？", "那另一个县呢？")
    assert c.intent == "smalltalk" and not any("两个县" in s for s in c.suggestions)


def test_the_other_plan_on_a_widget_pinned_to_one_plan(assistant) -> None:  # type: ignore[no-untyped-def]
    m = [{"role": "user", "content": "县市场监管局牵头哪些任务？"}]
    first = assistant.answer(m, plan_id="dianjiang-2021")
    m += [{"role": "assistant", "content": first.answer}, {"role": "user", "content": "那另一个县呢？"}]
    a = assistant.answer(m, plan_id="dianjiang-2021")
    assert a.intent == "unit_tasks" and {c.plan_id for c in a.citations} == {"shizhu-2022"}


def test_its_lead_department_in_english_is_the_tasks_lead(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "Tell me about task 27 in the Shizhu plan.", "What else does its lead department lead?")
    assert a.intent == "unit_tasks" and ("shizhu-2022", 23) in cited(a) and ("shizhu-2022", 13) not in cited(a)
    # naming both roles of the task asks who they are, not their other tasks
    a = ask(assistant, "Tell me about task 27 in the Shizhu plan.", "它的牵头单位和责任单位分别是？")
    assert a.intent == "task_units" and cited(a) == [("shizhu-2022", 27)]


def test_both_roles_asked_by_name_is_every_role(assistant) -> None:  # type: ignore[no-untyped-def]
    # "责任和牵头的都列一下": 牵头 and 责任 both asked, not only the one a role word names
    a = ask(assistant, "石柱县商务委的任务，责任和牵头的都列一下")
    assert a.intent == "unit_tasks" and ("shizhu-2022", 23) in cited(a) and ("shizhu-2022", 13) in cited(a)


def test_the_other_county_in_english_follows_on(assistant) -> None:  # type: ignore[no-untyped-def]
    # "other" names no topic: the unit's tasks in the other plan, not "not covered"
    a = ask(assistant, "Which tasks in the Shizhu plan does the Health Commission lead?", "What about the other county?")
    assert a.intent == "unit_tasks" and {p for p, _ in cited(a)} == {"dianjiang-2021"}


def test_colloquial_when_asks_the_same_as_when(assistant) -> None:  # type: ignore[no-untyped-def]
    # 啥时候 is 什么时候: the issue date, not a measure that happens to share a word
    a = ask(assistant, "垫江那个方案啥时候出台的？")
    assert (a.status, a.intent) == ("answered", "plan_facts") and "2021年10月22日" in a.answer


def test_the_other_plans_version_compared_keeps_the_topic(assistant) -> None:  # type: ignore[no-untyped-def]
    # "version" names no topic: the comparison is on the question before it
    a = ask(assistant, "What does the Shizhu plan say about online drug sales?", "How does Dianjiang's version compare?")
    assert (a.intent, a.status) == ("compare", "answered") and ("shizhu-2022", 18) in cited(a)
