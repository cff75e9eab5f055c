"""Understand a question: which plan(s), unit(s), task number(s), role, and kind.

Pure functions over the plans and the unit registry; follow-ups ("那它的责任单位呢？",
"石柱县呢？", "第二项呢？") inherit the slots they leave out from the previous turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from ..ingest.units import UnitRegistry
from ..records import Plan

Intent = Literal["unit_tasks", "task_units", "applies", "compare", "plan_facts", "out_of_scope"]
Role = Literal["lead", "responsible", "any"]

CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
INJECTION_RE = re.compile(
    r"(忽略|无视|忘记|忘掉|不要理会|跳过|绕过).{0,12}(指令|指示|规则|提示|设定|要求|限制)|系统提示|提示词|system\s*prompt"
    r"|ignore (all |any |the )?(previous|prior|above)|你现在是|现在你是|从现在起你|扮演|假装你|jailbreak|越狱|开发者模式"
    r"|\bDAN\b|没有任何限制|不受(任何)?限制|(隐藏|内部|系统)的?(指令|提示|设定)|原样输出|上下文|编(几|一)?条|编造|捏造"
    r"|写(个|一个|一段|段)?.{0,8}(代码|程序|爬虫|脚本|函数)|爬虫|\bpython\b|javascript|\bsql\b"
    r"|规则.{0,6}(作废|失效|取消|废止)|(完整|全部|所有)的?(设定|设置|指令|规则)|设定的第一句|以后一律"
    r"|帮我算|帮我计算|算一下|计算一下|等额本息|等额本金|每月要还|月供多少",  # chores, not questions about the plans
    re.I,
)
OFFTOPIC_RE = re.compile(
    r"天气|气温|下雨|笑话|讲个故事|写(一|个|段)?(首)?诗|翻译|股票|彩票|星座|菜谱|你是谁|你叫什么|你好|您好|谢谢"
    r"|在吗|hello|\bhi\b|几点了|今天几号"
    r"|比赛|球赛|足球|篮球|谁会赢|高铁|火车|车票|机票|航班|电影|游戏",
    re.I,
)
COMPARE_RE = re.compile(
    r"比较|对比|比一比|区别|不同|差异|异同|相比|两个县|两县|两个方案|两份方案|两地|都有|分别|各自|一样吗"
)
FACT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("doc_number", re.compile(r"文号|发文字号|发文号")),
    ("organisation", re.compile(r"保障措施|组织实施|组织领导|怎么保障|如何保障|组织保障|推进组")),
    (
        "task_count",
        re.compile(
            r"(多少|几)\s*(项|个|条)\s*(试点|改革){0,2}(任务|措施)|(任务|措施).{0,4}(多少|几)\s*(项|个|条)|任务数"
            r"|共有.{0,6}(项|个)任务|(一共|总共|共)(有)?(多少|几)(项|个|条)"
        ),
    ),
    (
        "period",
        re.compile(r"(试点|方案|实施).{0,6}(期限|几年|多少年|多长时间|多久|时间多长)|试点期|期限"),
    ),
    (
        "issued",
        re.compile(
            r"(什么时候|何时|哪天|哪一天|哪一年|哪年|日期|时间).{0,6}(印发|发布|出台|下发|发的|印的|公布)"
            r"|(印发|发布|出台|下发|公布).{0,6}(什么时候|何时|哪天|日期|时间)|印发日期|发文日期|落款"
        ),
    ),
    (
        "issuer",
        re.compile(
            r"谁(发布|印发|制定|出台|发的)|(哪个|什么|哪家)(单位|部门|机关).{0,3}(发布|印发|制定|出台|发的|发)|发文机关|发文单位"
        ),
    ),
    ("title", re.compile(r"标题|全称|(方案|文件)(的)?名称|方案叫什么")),
)
LEAD_RE = re.compile(r"牵头|主导|主责|带头|负总责")
RESP_RE = re.compile(r"责任单位|配合|协助|协同|参与|支持单位|配合单位|协办")
WHO_RE = re.compile(
    r"谁|哪个(部门|单位|局|委)|哪些(部门|单位)|找哪|什么(部门|单位)|联系|对接|咨询|办理"
)
TASKWORD_RE = re.compile(
    r"任务|工作|事项|职责|负责|承担|干什么|做什么|干啥|做啥|哪些事|啥事|涉及|分工|管什么|管哪些"
)
FIGURE_ASK_RE = re.compile(  # the question asks for a figure (a rate, an amount, a count of people)
    r"比例|税率|利率|多少钱|多少元|几套|多少套|加多少|是多少|标准是|拿多少|招多少|多少人|怎么算|如何计算|算法"
)
LIST_RE = re.compile(r"哪些|什么|多少|几项|几个|清单|列出|列一下|啥|做什么|负责什么|任务|工作|哪几")
TASKNO_RE = re.compile(
    r"第\s*([0-9]+|[一二两三四五六七八九十百零]+)\s*[项条个号]|([0-9]+)\s*号任务|任务\s*([0-9]+)"
)
FILLER_RE = re.compile(
    r"[\s，。、；：！？?!,.;:“”\"'（）()]|那么|那|呢|吗|吧|啊|呀|的|了|它|这项|该项|这个|那个|这条|还有|还|再|又|是|谁|什么|哪些|哪个|"
    r"单位|部门|牵头|责任|配合|负责|一下|请问|县|项|条|第|任务|有没有|类似|一样|相关|同样|也|要|找|哪|问|应该|去|归|管"
    r"|具体|作为|参与|协助|协同|支持|呢|分别|又|谁家|的话|那边|这边|怎么样|如何|情况"
)


@dataclass(frozen=True)
class Query:
    text: str
    intent: Intent
    plan_ids: tuple[str, ...]
    units: tuple[str, ...] = ()  # canonical names
    unit_mentions: tuple[str, ...] = ()  # as typed, re-resolved when the plan changes
    task_numbers: tuple[int, ...] = ()
    role: Role = "any"
    fact: str | None = None
    topic: str = ""  # text used for retrieval
    follow_up: bool = False


def cn_number(s: str) -> int | None:
    """'31' / '三十一' / '二' → int."""
    if s.isdigit():
        return int(s)
    total, cur = 0, 0
    for ch in s:
        if ch in CN_DIGITS:
            cur = CN_DIGITS[ch]
        elif ch == "十":
            total += (cur or 1) * 10
            cur = 0
        elif ch == "百":
            total += (cur or 1) * 100
            cur = 0
        else:
            return None
    return total + cur or None


def plans_mentioned(text: str, plans: dict[str, Plan]) -> tuple[str, ...]:
    hits = []
    for pid, p in plans.items():
        names = {p.short_name, p.region, p.title} - {""}
        if any(n in text for n in names):
            hits.append(pid)
    return tuple(hits)


def task_numbers_in(text: str) -> tuple[int, ...]:
    out = []
    for m in TASKNO_RE.finditer(text):
        n = cn_number(next(g for g in m.groups() if g))
        if n:
            out.append(n)
    return tuple(dict.fromkeys(out))


def role_in(text: str) -> Role | None:
    lead, resp = bool(LEAD_RE.search(text)), bool(RESP_RE.search(text))
    if lead and not resp:
        return "lead"
    if resp and not lead:
        return "responsible"
    return None


def is_elliptical(text: str, registry_mentions: tuple[str, ...], plans: dict[str, Plan]) -> bool:
    """A follow-up that leaves out what it is about ("石柱县呢？", "那配合的呢")."""
    rest = text
    for s in sorted(
        [*registry_mentions, *(n for p in plans.values() for n in (p.region, p.short_name) if n)],
        key=len,
        reverse=True,
    ):
        rest = rest.replace(s, "")
    rest = TASKNO_RE.sub("", rest)
    rest = FILLER_RE.sub("", rest)
    return len(rest) <= 1


def understand(
    text: str,
    plans: dict[str, Plan],
    registry: UnitRegistry,
    pinned_plan: str | None = None,
    previous: Query | None = None,
) -> Query:
    text = text.strip()
    mentioned = plans_mentioned(text, plans)
    plan_ids = mentioned or ((pinned_plan,) if pinned_plan else tuple(plans))
    mentions: tuple[str, ...] = tuple(
        _unit_mentions(_unquoted(text, registry, plan_ids), registry, plan_ids)
    )
    units = _resolve(mentions, registry, plan_ids)
    numbers = task_numbers_in(text)
    role = role_in(_without(text, mentions))
    if INJECTION_RE.search(text):
        return Query(text, "out_of_scope", plan_ids)
    elliptical = previous is not None and is_elliptical(text, mentions, plans)
    if elliptical and previous is not None and previous.intent != "out_of_scope":
        plan_ids = mentioned or previous.plan_ids
        mentions = mentions or previous.unit_mentions
        units = _resolve(mentions, registry, plan_ids) if mentions else ()
        intent: Intent = previous.intent
        if numbers and intent not in ("task_units",):
            intent = "task_units"
        if len(mentioned) == 1 and intent == "compare":
            intent = "task_units" if WHO_RE.search(text) or role else "applies"
        elif intent == "applies" and (WHO_RE.search(text) or role):
            intent = "task_units"
        return replace(
            previous,
            text=text,
            intent=intent,
            plan_ids=plan_ids,
            units=units,
            unit_mentions=mentions,
            task_numbers=numbers or previous.task_numbers,
            role=role or previous.role,
            follow_up=True,
        )
    fact = next((name for name, rx in FACT_PATTERNS if rx.search(text)), None)
    if (
        fact
        and not numbers
        and not (units and LIST_RE.search(text) and fact in ("issued", "title"))
    ):
        if not units or fact in ("doc_number", "issuer", "organisation"):
            return Query(text, "plan_facts", plan_ids, fact=fact, topic=text)
    if (
        not units
        and not numbers
        and not _domain_words(text)
        and not (LEAD_RE.search(text) or RESP_RE.search(text))
    ):
        if OFFTOPIC_RE.search(text) or not PUBLIC_RE.search(text):
            return Query(
                text, "out_of_scope", plan_ids
            )  # neither these plans' topics nor public affairs
    if numbers:
        intent = "task_units"
    elif (
        units
        and _asks_for_tasks(_without(text, mentions))
        and not WHO_RE.search(text.replace(units_text(mentions), ""))
    ):
        intent = "unit_tasks"
    elif (
        (len(mentioned) >= 2 or (COMPARE_RE.search(text) and not mentioned))
        and len(plans) > 1
        and not units
    ):
        intent = "compare"
        plan_ids = mentioned if len(mentioned) >= 2 else tuple(plans)
    elif WHO_RE.search(text):
        intent = "task_units"
    else:
        intent = "applies"
    return Query(text, intent, plan_ids, units, tuple(mentions), numbers, role or "any", None, text)


QUOTED_RE = re.compile(r"“([^”]*)”|\"([^\"]*)\"|「([^」]*)」")


def _unquoted(text: str, registry: UnitRegistry, plan_ids: tuple[str, ...]) -> str:
    """Quoted text names a topic (“央行贸易金融区块链平台”), unless it is exactly a unit."""

    def keep(m: re.Match[str]) -> str:
        inner = next(g for g in m.groups() if g is not None)
        return inner if registry.resolve(inner, plan_ids) and inner in registry._index else " "

    return QUOTED_RE.sub(keep, text)


def _without(text: str, mentions: list[str] | tuple[str, ...]) -> str:
    for m in sorted(mentions, key=len, reverse=True):
        text = text.replace(m, " ")
    return text


def _asks_for_tasks(text: str) -> bool:
    """A question about a unit asks for its tasks: task or role words, or list words
    that are not asking for a figure ("人行…房贷利率是多少" is not a task list)."""
    if TASKWORD_RE.search(text) or LEAD_RE.search(text) or RESP_RE.search(text):
        return True
    return bool(LIST_RE.search(text)) and not FIGURE_ASK_RE.search(text)


def units_text(mentions: list[str] | tuple[str, ...]) -> str:
    return mentions[0] if mentions else "\x00"


def _unit_mentions(text: str, registry: UnitRegistry, plan_ids: tuple[str, ...]) -> list[str]:
    """Surface strings of units named in the text, longest alias first."""
    found: list[tuple[int, str]] = []
    taken = [False] * len(text)
    for alias in registry._by_length:
        if len(alias) < 2 or not registry.resolve(alias, plan_ids):
            continue
        for m in re.finditer(re.escape(alias), text):
            if not any(taken[m.start() : m.end()]):
                taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                found.append((m.start(), alias))
    return [a for _, a in sorted(found)]


def _resolve(
    mentions: list[str] | tuple[str, ...], registry: UnitRegistry, plan_ids: tuple[str, ...]
) -> tuple[str, ...]:
    out: list[str] = []
    for m in mentions:
        out += [u.name for u in registry.resolve(m, plan_ids) if u.name not in out]
    return tuple(out)


DOMAIN_RE = re.compile(
    r"外资|外商|投资|开放|试点|任务|措施|政策|方案|企业|公司|医疗|医院|诊所|药|旅行社|旅游|金融|银行|保险|教育|学校|"
    r"人才|知识产权|数据|电力|售电|网站|备案|养老|消费|商圈|跨境|贸易|税|职业资格|签证|港澳|香港|澳门|外籍|融资|担保|科技|专利"
    r"|商标|侵权|仿冒|营商环境|准入|监管|高校|大学|研究院|研究所|研发|分支机构|法定代表人|国企|事业单位|出入境|区块链|光伏|演出|"
    r"酒店|电商|直播|网信|债券|碳|贷款|不动产|审批|承诺制|标准地|高新|外国|境外|留学|外企|中医|药材|夜市|夜间"
)


PUBLIC_RE = re.compile(
    r"政府|县里|政策|规定|办理|申请|补贴|补助|医保|社保|养老|退休|学校|上学|入学|小学|公务员|招聘|户口|买房|房子|商品房|"
    r"房贷|公租房|证|许可|审批|收费|费用|税|工资|待遇|条件|手续|部门|单位|登记|执照|营业|报销|低保|扶持|奖励|宅基地|农村|"
    r"停车|罚款|违章|城管|拆迁|征地|就业|失业|职称|考试|高考|中考|户籍|身份证|驾照|公积金"
)


def _domain_words(text: str) -> bool:
    return bool(DOMAIN_RE.search(text))
