"""How ordinary phrasing is read, on the real index: emoji, 参与 (no role), "两个方案都有哪些…"
(a list, not a comparison), a unit the named plan gives no task, the document a plan follows,
words after a plan's name ("石柱方案里…"), and "里面…" pointing at the plan talked about."""

from __future__ import annotations

import pytest

from assistant.answer.understand import understand

pytestmark = pytest.mark.integration


def ask(assistant, *turns: str):  # type: ignore[no-untyped-def]
    messages = []
    for t in turns[:-1]:
        messages += [{"role": "user", "content": t}, {"role": "assistant", "content": "（略）"}]
    return assistant.answer([*messages, {"role": "user", "content": turns[-1]}])


def cited(a) -> set[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    return {(c.plan_id, c.task_number) for c in a.citations}


def test_an_emoji_changes_nothing(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "你好呀😊")
    assert (a.status, a.intent, a.citations) == ("answered", "smalltalk", [])
    plain, decorated = ask(assistant, "石柱的药店能在网上卖药吗？"), ask(assistant, "💊 石柱的药店能在网上卖药吗？")
    assert cited(plain) == cited(decorated) and cited(plain)


def test_taking_part_means_either_role_unless_it_follows_a_lead_question(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("税务局在两份方案里都参与了哪些任务？", store.plans, store.registry)
    assert (q.intent, q.role) == ("unit_tasks", "any")
    first = understand("县市场监管局在垫江牵头哪些任务？", store.plans, store.registry)
    nxt = understand("它参与的呢？", store.plans, store.registry, None, first)
    assert (nxt.intent, nxt.role, nxt.units) == ("unit_tasks", "responsible", ("县市场监管局",))


def test_any_role_lists_lead_tasks_too(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "税务局在两份方案里都参与了哪些任务？")
    # 石柱 第38项 has 县税务局 as a lead unit; 第5项 as a responsible one
    assert {("shizhu-2022", 38), ("shizhu-2022", 5)} <= cited(a)
    assert "牵头 1 项任务" in a.answer


def test_what_both_plans_have_on_a_topic_is_a_list_not_a_comparison(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "两个方案里有哪些和养老服务有关的？")
    assert a.intent == "topic"
    assert ("shizhu-2022", 19) in cited(a)
    assert not any(pid == "dianjiang-2021" for pid, _ in cited(a))  # 垫江 has no such task
    assert ask(assistant, "两个方案在养老服务方面有什么不同？").intent == "compare"


def test_a_unit_the_named_plan_gives_no_task(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "县民政局在垫江的方案里有分到任务吗？")
    assert (a.status, a.intent, a.citations) == ("answered", "unit_tasks", [])
    assert "县民政局既没有牵头的任务，也没有作为责任单位参与的任务" in a.answer
    assert "垫江" in a.answer
    assert a.export is None  # nothing to export
    # the next step offered: the plan where it does have tasks, and that question is answered
    assert "县民政局在石柱方案中负责哪些任务？" in a.suggestions
    nxt = ask(assistant, "县民政局在垫江的方案里有分到任务吗？", "县民政局在石柱方案中负责哪些任务？")
    assert ("shizhu-2022", 19) in cited(nxt)


def test_the_document_a_plan_follows(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江的方案是依据市里哪份文件制定的？")
    assert (a.status, a.intent) == ("answered", "plan_facts")
    assert "渝府发〔2021〕19号" in a.answer and a.citations
    assert a.citations[0].plan_id == "dianjiang-2021"
    assert a.checks["ok"]


def test_place_words_after_a_plan_name_are_not_part_of_the_topic(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱方案里文旅方面有哪些措施？")
    assert (a.status, a.intent) == ("answered", "topic")
    assert {("shizhu-2022", 31), ("shizhu-2022", 32)} <= cited(a)
    b = ask(assistant, "石柱方案里文旅方面有哪些措施？", "其中哪些需要县投资促进中心配合？")
    assert {("shizhu-2022", 31), ("shizhu-2022", 32)} <= cited(b)


def test_in_it_points_at_the_plan_talked_about(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱方案是哪天印发的？", "好的。顺便问下，里面跟中医药有关的措施有哪些？")
    assert a.intent == "topic" and a.plan_ids == ["shizhu-2022"]
    # 中医药 is the plans' own word: the 医药 inside it does not bring in the pharmacy task
    assert cited(a) == {("shizhu-2022", 15)}


def test_a_topic_held_by_one_plan_names_it_and_the_plan_without(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "两个方案里有哪些和养老服务有关的？")
    first = a.answer.splitlines()[0]
    assert first.startswith("《石柱县服务业扩大开放综合试点实施方案》中与") and "《垫江县服务业扩大开放综合试点工作方案》中没有" in first


def test_a_total_over_plans_when_the_count_is_asked(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "县发展改革委牵头哪些任务？一共几项？")
    lead = {c for c in cited(a)}
    assert a.answer.splitlines()[0] == (
        f"县发展改革委在 2 个方案中共牵头 {len(lead)} 项任务（垫江 2 项，石柱 2 项）。"
    )
    assert a.checks["ok"]
    # without a count asked, the plans' own lines come first
    assert not ask(assistant, "县发展改革委牵头哪些任务？").answer.startswith("县发展改革委在 2 个方案中")


def test_a_greeting_with_thanks_is_small_talk(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "早上好呀，辛苦啦")
    assert (a.status, a.intent, a.citations) == ("answered", "smalltalk", [])


def test_the_same_unit_in_a_plan_that_does_not_list_it(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "县委宣传部在垫江有什么任务？", "石柱呢？")
    assert (a.status, a.intent, a.plan_ids) == ("answered", "unit_tasks", ["shizhu-2022"])
    assert "县委宣传部既没有牵头的任务，也没有作为责任单位参与的任务" in a.answer
    assert a.checks["ok"]


def test_which_measures_on_a_subject_is_the_plans_list(store) -> None:  # type: ignore[no-untyped-def]
    assert understand("发展旅游业有哪些开放措施？", store.plans, store.registry).intent == "topic"
    assert understand("数据安全和个人信息保护的要求有哪些？", store.plans, store.registry).intent == "topic"
    # one's own case stays "what applies to me"
    assert understand("我们想在石柱开旅行社，有哪些政策？", store.plans, store.registry).intent == "applies"


def test_an_english_phrase_means_its_term_not_each_words_domain(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "Which measures concern green finance?")
    # 绿色金融 (石柱 第10项), not every task that prints 绿色 (绿色通道)
    assert cited(a) == {("shizhu-2022", 10)}


def test_a_public_service_question_the_plans_lack_is_not_covered(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江县城的中小学学区是怎么划分的？")
    assert a.status == "not_covered"


def test_the_other_plan_after_a_task_number_is_that_tasks_counterpart(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江第9项由谁牵头？", "那石柱呢？")
    assert (a.status, a.intent) == ("answered", "task_units")
    assert cited(a) == {("dianjiang-2021", 9), ("shizhu-2022", 42)}  # the same measure, worded the same
    assert a.answer.startswith("《石柱县服务业扩大开放综合试点实施方案》中与《垫江县服务业扩大开放综合试点工作方案》第9项 [1] 最相近的任务是") and a.checks["ok"]
    b = ask(assistant, "石柱第31项由谁牵头？", "垫江呢？")  # 垫江 has no travel-agency task
    assert b.status == "not_covered"
    assert b.answer.startswith("《垫江县服务业扩大开放综合试点工作方案》中没有与")


def test_english_responsible_units_follow_up(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "Who leads task 13 in the Shizhu plan?", "And its responsible units?")
    assert a.answer.startswith("The 责任单位 of task 13 of the Shizhu plan")


def test_the_other_county_is_the_plan_not_talked_about(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱方案里，给外籍高层次人才提供出入境便利的是哪个部门牵头？", "那另一个县呢？")
    assert a.plan_ids == ["dianjiang-2021"] and ("dianjiang-2021", 9) in cited(a)


def test_support_as_a_noun_asks_no_role(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("What support is there for foreign professionals working here?", store.plans, store.registry)
    assert q.role == "any" and q.intent != "task_units"
    q = understand("Which tasks does the Shizhu tax bureau support?", store.plans, store.registry)
    assert (q.intent, q.role) == ("unit_tasks", "responsible")


def test_the_topic_is_what_the_about_frame_holds(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("我们是保险公司，想了解两个县跟保险业务有关的措施都有哪些", store.plans, store.registry)
    assert q.topic == "保险业务"


def test_food_recommendations_are_out_of_scope(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "重庆哪家火锅最好吃？推荐一下呗")
    assert a.status == "out_of_scope" and not a.citations


def test_among_them_after_a_plan_fact_means_the_plans_tasks(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱方案一共有多少项任务？", "其中县商务委牵头的有哪些？")
    assert (a.status, a.intent) == ("answered", "unit_tasks")
    assert {("shizhu-2022", n) for n in (23, 24, 25, 26, 27)} <= cited(a)


def test_a_comparison_asked_after_one_plans_answer_covers_both(store) -> None:  # type: ignore[no-untyped-def]
    first = understand("石柱对养老服务是怎么说的？", store.plans, store.registry)
    nxt = understand("垫江那边呢？比较一下", store.plans, store.registry, None, first)
    assert nxt.intent == "compare"
    assert set(nxt.plan_ids) == {"shizhu-2022", "dianjiang-2021"}


def test_which_things_of_a_domain_is_a_topic_list(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("垫江方案讲了哪些科技方面的内容", store.plans, store.registry)
    assert q.intent == "topic" and "东西" not in q.topic
    q = understand("县里支持夜间经济的政策，都有哪些？", store.plans, store.registry)
    assert q.intent == "topic"


def test_a_code_request_with_thanks_is_out_of_scope(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "请用Java写个冒泡排序，谢谢")
    assert (a.status, a.intent) == ("out_of_scope", "out_of_scope")


def test_a_scene_setting_turn_carries_its_plan_and_its_asker(assistant) -> None:  # type: ignore[no-untyped-def]
    # both plans have an online-medicine task; the asker said where it is
    a = ask(assistant, "我们是一家医院，在石柱", "可以搞互联网诊疗吗？")
    assert a.status == "answered" and cited(a)
    assert {pid for pid, _ in cited(a)} == {"shizhu-2022"}


def test_a_concession_from_the_local_government_is_not_covered(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "我在垫江开了个健身房", "县里对健身房有没有房租减免？")
    assert a.status == "not_covered"


def test_what_the_plans_offer_on_a_subject_is_their_list(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("What do the plans offer to help foreign experts?", store.plans, store.registry)
    assert q.intent == "topic"
    q = understand("What incentives are there for elderly care?", store.plans, store.registry)
    assert q.intent == "topic"
    q = understand("What do the plans offer for my clinic?", store.plans, store.registry)
    assert q.intent != "topic"  # a case of the asker's own: the measures that apply


def test_that_topic_then_asks_the_same_question_of_it(store) -> None:  # type: ignore[no-untyped-def]
    first = understand("垫江和石柱在养老方面有什么不同？", store.plans, store.registry)
    nxt = understand("那医疗呢？", store.plans, store.registry, None, first)
    assert (nxt.intent, set(nxt.plan_ids)) == ("compare", {"dianjiang-2021", "shizhu-2022"})
    first = understand("石柱有哪些跟旅游有关的任务？", store.plans, store.registry)
    nxt = understand("那金融呢？", store.plans, store.registry, None, first)
    assert (nxt.intent, nxt.plan_ids) == ("topic", ("shizhu-2022",))
    first = understand("What measures concern finance in Shizhu?", store.plans, store.registry)
    nxt = understand("What about tourism?", store.plans, store.registry, None, first)
    assert (nxt.intent, nxt.plan_ids) == ("topic", ("shizhu-2022",))


def test_a_comparison_line_says_nothing_twice_of_a_plan_without_tasks(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江和石柱在养老服务方面有什么不同？")
    first = a.answer.split("\n")[0]
    assert "垫江 0 项" in first and "垫江没有独有的任务" not in first


def test_a_plan_without_the_topic_is_not_given_a_stray_words_tasks(assistant) -> None:  # type: ignore[no-untyped-def]
    # 垫江 has no elderly-care task; its 服务业 tasks share only the word 服务
    a = ask(assistant, "垫江和石柱在养老服务方面有什么不同？")
    assert not any(pid == "dianjiang-2021" for pid, _ in cited(a))
    assert ("shizhu-2022", 19) in cited(a)


def test_a_comparison_without_a_topic_compares_the_plans_whole(assistant) -> None:  # type: ignore[no-untyped-def]
    for q in ("两个方案有哪些相同的措施？", "What do the two plans have in common?"):
        a = ask(assistant, q)
        assert (a.status, a.intent) == ("answered", "compare"), q
        assert a.answer.split("\n")[1].startswith(("两个方案都有的", "In both"))  # what both have first
        assert ("dianjiang-2021", 9) in cited(a) and ("shizhu-2022", 42) in cited(a)


def test_english_thanks_with_praise_is_small_talk(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "Thanks, that's really helpful!")
    assert (a.status, a.intent, a.citations) == ("answered", "smalltalk", [])
    assert ask(assistant, "太好了，谢谢！").intent == "smalltalk"


def test_english_comparison_words_are_not_the_topic(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("How does the Shizhu plan differ from the Dianjiang plan on tourism?", store.plans, store.registry)
    assert q.intent == "compare" and q.topic == "tourism"


def test_several_task_numbers_under_one_label(store) -> None:  # type: ignore[no-untyped-def]
    for text, nums in (("石柱第3、4项分别谁牵头？", (3, 4)), ("垫江第七和第八条的责任单位", (7, 8)),
                       ("Who leads tasks 5 and 6 in Shizhu?", (5, 6))):
        q = understand(text, store.plans, store.registry)
        assert (q.intent, q.task_numbers) == ("task_units", nums), text


def test_how_a_plan_groups_its_tasks(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱方案的任务分为哪几个部分？")
    assert (a.status, a.intent) == ("answered", "plan_facts") and a.checks["ok"]
    assert a.answer.startswith("《石柱县服务业扩大开放综合试点实施方案》的 55 项任务分为 4 个部分")
    assert "（一）充分竞争性服务业：第1–5项 [" in a.answer  # a level below, where it splits
    en = ask(assistant, "How is the Dianjiang plan structured?")
    assert en.intent == "plan_facts" and "11 tasks in 4 parts" in en.answer and en.checks["ok"]


def test_when_the_plan_must_be_done_is_its_pilot_period(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江方案要求什么时候完成？")
    assert a.intent == "plan_facts" and "试点期限" in a.answer


def test_what_relates_to_a_subject_is_a_topic_list(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("垫江方案里跟人才有关的有哪些？", store.plans, store.registry)
    assert (q.intent, q.plan_ids) == ("topic", ("dianjiang-2021",))


def test_their_units_after_a_list_are_each_listed_tasks_units(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "县教委在石柱牵头哪些任务？", "它们的责任单位分别是谁？")
    assert (a.status, a.intent) == ("answered", "task_units")
    assert cited(a) == {("shizhu-2022", 6), ("shizhu-2022", 7), ("shizhu-2022", 8)}
    # through a filter: the list "其中…" left, not the topic list before it
    b = ask(assistant, "石柱有哪些跟医疗有关的任务？", "其中哪些由县医保局牵头？", "它们的配合单位是谁？")
    assert cited(b) == {("shizhu-2022", 12), ("shizhu-2022", 17)}


def test_an_item_of_the_list_by_its_place(assistant) -> None:  # type: ignore[no-untyped-def]
    first = ask(assistant, "Which tasks does the Shizhu education commission lead?", "Who supports the first one?")
    assert cited(first) == {("shizhu-2022", 6)}
    last = ask(assistant, "Which tasks does the Shizhu education commission lead?", "Who supports the first one?",
               "And the last one?")
    assert cited(last) == {("shizhu-2022", 8)}


def test_a_common_word_alone_does_not_answer(assistant) -> None:  # type: ignore[no-untyped-def]
    # every plan speaks of 外资; none of funeral homes or gyms, and 垫江 of no hospitals
    for q in ("外资能在石柱开殡仪馆吗？", "外资能在垫江开健身房吗？", "垫江允许外资开设医院吗？"):
        assert ask(assistant, q).status == "not_covered", q
    assert ask(assistant, "石柱允许外资开设医院吗？").status == "answered"


def test_an_excerpt_reaches_the_plans_word_for_the_askers(assistant) -> None:  # type: ignore[no-untyped-def]
    # 工资 is 薪酬 and 汇回国 is 购汇…汇出 in the plan, late in a long task
    a = ask(assistant, "我是在垫江工作的外国人，薪水能汇回国吗？")
    assert a.status == "answered" and "购汇汇出" in a.answer


def test_which_plan_has_more_is_a_comparison(store) -> None:  # type: ignore[no-untyped-def]
    for text in ("哪个县的教育开放措施更多？", "Which county has more measures on finance?"):
        q = understand(text, store.plans, store.registry)
        assert q.intent == "compare" and q.topic in ("教育", "finance"), text
    q = understand("两个县在养老方面各有什么措施？", store.plans, store.registry)
    assert q.topic == "养老"


def test_long_unit_names_survive_one_mistyped_character(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱县金融工作事务中新牵头哪些任务？")
    assert a.intent == "unit_tasks" and "县金融工作事务中心" in a.answer
    # short names one character apart are different departments: never "corrected"
    assert ask(assistant, "县商务局在石柱牵头哪些任务？").answer.count("县税务局") == 0


def test_a_role_the_question_rules_out(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("县商务委作为配合单位（不是牵头单位）参与了哪些任务？", store.plans, store.registry)
    assert q.role == "responsible"


def test_a_bare_task_number_after_the_plan(store) -> None:  # type: ignore[no-untyped-def]
    assert understand("石柱方案12条谁牵头", store.plans, store.registry).task_numbers == (12,)
    assert understand("石柱方案有55项试点任务吗", store.plans, store.registry).task_numbers == ()


def test_examples_and_the_domain_they_belong_to(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("银行贷款、担保这些金融方面的措施有哪些", store.plans, store.registry)
    assert q.intent == "topic" and q.topic.split("、")[-1] == "金融"


def test_a_comparison_naming_one_plan_after_another_covers_both(store) -> None:  # type: ignore[no-untyped-def]
    first = understand("石柱在养老服务方面怎么安排的？", store.plans, store.registry)
    nxt = understand("垫江在医疗上有没有类似的措施？对比一下", store.plans, store.registry, None, first)
    assert nxt.intent == "compare" and set(nxt.plan_ids) == {"shizhu-2022", "dianjiang-2021"}


def test_a_long_task_saying_the_plans_rare_term_is_found(assistant) -> None:  # type: ignore[no-untyped-def]
    # 征信 is 资信调查 in the plan, one phrase inside a long task
    a = ask(assistant, "垫江那边，我们是做企业征信调查的外资公司，能进去做业务吗")
    assert a.status == "answered" and ("dianjiang-2021", 1) in cited(a)


def test_which_is_more_detailed_is_a_comparison(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("哪个县在金融开放上写得更具体？", store.plans, store.registry)
    assert q.intent == "compare" and q.topic == "金融"


def test_its_after_a_plan_fact_is_that_plan(store) -> None:  # type: ignore[no-untyped-def]
    first = understand("石柱的方案是什么时候印发的？", store.plans, store.registry)
    nxt = understand("它的基本原则是什么？", store.plans, store.registry, None, first)
    assert (nxt.intent, nxt.plan_ids) == ("plan_facts", ("shizhu-2022",))


def test_that_then_a_whole_new_question_is_no_swap(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱在医疗方面有什么措施", "那外地医保卡在石柱看病每次能报多少？")
    assert a.status == "not_covered"


def test_a_recipe_is_a_chore(assistant) -> None:  # type: ignore[no-untyped-def]
    assert ask(assistant, "教我一个红烧肉的做法").status == "out_of_scope"
    assert ask(assistant, "两个县在人才引进上的做法有什么不同？").status == "answered"


def test_which_tasks_relate_to_a_subject_counted(store) -> None:  # type: ignore[no-untyped-def]
    assert understand("哪些任务和教育有关？", store.plans, store.registry).intent == "topic"
    q = understand("石柱方案里跟养老有关的任务有几项？", store.plans, store.registry)
    assert (q.intent, q.wants_count) == ("topic", True)
    assert understand("石柱方案一共有几项任务？", store.plans, store.registry).intent == "plan_facts"
    # "几个老板" counts nothing
    assert not understand("我们几个老板想在石柱开旅行社", store.plans, store.registry).wants_count


def test_two_facts_asked_together(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "垫江方案的试点期限是多久，目标是什么？")
    assert "试点期限" in a.answer and "工作目标" in a.answer


def test_a_department_named_with_a_word_left_out(assistant) -> None:  # type: ignore[no-untyped-def]
    a = ask(assistant, "石柱投资促进局牵头什么")  # another suffix
    assert "县投资促进中心" in a.answer
    b = ask(assistant, "垫江金融服务中心参与了哪些任务")  # 发展 left out of 县金融发展服务中心
    assert b.intent == "unit_tasks" and "县金融发展服务中心" in b.answer


def test_english_follow_up_on_who_supports_it(store) -> None:  # type: ignore[no-untyped-def]
    first = understand("Who leads the website filing task in Shizhu?", store.plans, store.registry)
    nxt = understand("And which departments are expected to support it?", store.plans, store.registry, None, first)
    assert (nxt.intent, nxt.role, nxt.plan_ids) == ("task_units", "responsible", ("shizhu-2022",))
    assert nxt.follow_up


def test_an_english_department_named_as_a_branch_of_a_bank(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("Which tasks does the Shizhu branch of the People's Bank of China lead?", store.plans, store.registry)
    assert q.intent == "unit_tasks" and q.units == ("人行丰都支行",)


def test_a_unit_typed_with_a_homophone(assistant) -> None:  # type: ignore[no-untyped-def]
    # pinyin input puts a character of the same sound: 医宝局 for 医保局; a different sound
    # (商务/税务) is never taken for another department
    a = ask(assistant, "石柱医宝局牵头哪些任务？")
    assert a.intent == "unit_tasks" and "县医保局" in a.answer


def test_examples_after_for_instance_are_alternatives(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("文化旅游方面有哪些举措？比如旅行社、酒店之类的", store.plans, store.registry)
    assert q.intent == "topic" and len(q.topic.split("、")) == 3


def test_who_comes_to_lead_is_elliptical(store) -> None:  # type: ignore[no-untyped-def]
    first = understand("石柱有没有网站备案方面的措施？", store.plans, store.registry)
    nxt = understand("由谁来牵头？", store.plans, store.registry, None, first)
    assert (nxt.intent, nxt.plan_ids, nxt.follow_up) == ("task_units", ("shizhu-2022",), True)


def test_greetings_of_the_time_of_day(assistant) -> None:  # type: ignore[no-untyped-def]
    for q in ("早安！", "哈啰，晚安"):
        assert ask(assistant, q).intent == "smalltalk", q


def test_wrappers_change_no_citation(assistant) -> None:  # type: ignore[no-untyped-def]
    plain = ask(assistant, "石柱的药店能在网上卖药吗？")
    for wrapped in ("我看了半天，有点没看懂。石柱的药店能在网上卖药吗？",
                    "石柱的药店能在网上卖药吗，辛苦帮忙看看，谢谢。",
                    "您好，石柱的药店能在网上卖药吗"):
        assert cited(ask(assistant, wrapped)) == cited(plain), wrapped
    # a request ending in 吧 asks something: chatter with thanks is no small talk then
    assert ask(assistant, "今天好无聊，陪我聊会儿天吧？多谢。").status == "out_of_scope"


def test_full_width_joining_marks_in_english(store) -> None:  # type: ignore[no-untyped-def]
    q = understand("Which measures concern cross－border trade？", store.plans, store.registry)
    assert "cross-border" in q.text


def test_policy_verbs_and_pilot_are_no_topic_of_their_own(assistant) -> None:  # type: ignore[no-untyped-def]
    assert ask(assistant, "两个县在吸引外籍专家方面都有哪些措施？").status == "answered"
    assert ask(assistant, "石柱养老方面有哪些试点任务？").status == "answered"


def test_a_topic_named_before_its_list_question_is_a_topic(store) -> None:  # type: ignore[no-untyped-def]
    # "X方面，两份方案都写了哪些任务？": the list of X's tasks, however far the question words follow
    q = understand("知识产权保护和知识产权融资方面，两份方案都写了哪些任务？", store.plans, store.registry)
    assert q.intent == "topic"
