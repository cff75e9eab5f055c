"""Units (departments): splitting printed unit lists, aliases, and resolution.

Curated aliases live in a data file (`corpus/aliases.toml`); the rules here only
add the obvious ones (县科技局 → 科技局, 某县科技局). Resolution is scoped by
region: 人行 means a different county sub-branch in each plan's region.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..records import Plan, Task, Unit

SEPARATORS = "、，,；;"
LEVELS = "省市州盟区县旗镇乡"  # the government levels a plan's region can end with
# A group of units rather than one department, at any level: 各区、县级各部门、市直有关单位、
# 区政府各部门、相关部门、其他有关单位、领导小组成员单位 …
COLLECTIVE_RE = re.compile(
    rf"^(?:[{LEVELS}]{{1,2}}(?:级|直|属|政府|委)?)?(?:各|有关|相关|其他)|成员单位$|^项目牵头单位$"
)
# Bare administrative words that continue a collective list: 各区、县级市 / 各乡镇、街道办事处
GENERIC_UNIT_RE = re.compile(
    r"^(?:(?:县级市|自治县|自治州|街道办事处|乡镇|镇街|街道|区县|[区县市州旗乡镇])"
    r"(?:人民政府|政府|办事处|管委会)?)+$"
)
ETC_SUFFIX_RE = re.compile(r"等(责任|相关|有关)?(部门|单位)$")
PAREN_ALIAS_RE = re.compile(r"^(.+?)[（(](.+?)[)）]$")
LEAD_MARK_RE = re.compile(r"[（(]\s*牵\s*头\s*(?:单位|部门)?\s*[)）]")
# What a single department's name ends with (used to tell a unit note from other brackets)
UNIT_SUFFIX_RE = re.compile(
    r"(?:局|委|办|厅|部|中心|政府|院|银行|人行|会|公司|组|队|所|署|站|处|室|馆|团|社|集团|办事处|街道"
    r"|科|股|台|校|园|区|镇|乡|委员会|指挥部|管委会|总队|支队|大队|分局|支行|分行)$"
)
NOT_UNIT_START = (
    "由",
    "请",
    "应",
    "要",
    "并",
    "可",
    "需",
    "将",
    "在",
    "对",
    "按",
    "经",
    "从",
    "向",
)


def is_collective(name: str) -> bool:
    """A group of units (各区、县级市 / 县级各部门 / 各有关单位), never one department."""
    return bool(COLLECTIVE_RE.search(name))


def looks_like_unit(name: str) -> bool:
    """True when a printed name has the shape of a government unit: a department name (ends with
    局/委/办/中心/…, at least three characters) or a collective. Used to tell unit notes from
    other brackets and to place table cells; never to reject units a label names."""
    if not 2 <= len(name) <= 40 or re.search(r"[\s。！？!?：:“”\"《》]", name):
        return False
    if name.startswith(NOT_UNIT_START) or re.search(r"\d", name):
        return False
    if is_collective(name):
        return True
    return len(name) >= 3 and bool(UNIT_SUFFIX_RE.search(name))


def split_units(text: str) -> list[tuple[str, str | None]]:
    """Split a printed unit list into (name, alias-in-parentheses) pairs.

    Splits on 、，；(never inside parentheses), on 及 before a collective
    (县科技局及各行业主管部门), and drops a trailing 等责任部门. Bare level words that continue
    a collective (各区、县级市) stay with it: they are one group, not a department.
    """
    parts: list[str] = []
    seps: list[str] = []
    depth, cur = 0, ""
    for ch in text:
        if ch in "（(":
            depth += 1
        elif ch in ")）":
            depth = max(0, depth - 1)
        if ch in SEPARATORS and depth == 0:
            parts.append(cur)
            seps.append(ch)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out: list[tuple[str, str | None]] = []
    prev_collective = False
    for i, part in enumerate(parts):
        for piece in re.split(r"及(?=各|相关|有关|其他)", part.strip().strip("。.")):
            name = re.sub(r"\s+", "", piece)
            if not name:
                continue
            joined = i > 0 and seps[i - 1] == "、"
            if (
                prev_collective
                and joined
                and out
                and GENERIC_UNIT_RE.match(name.removeprefix("各"))
            ):
                out[-1] = (f"{out[-1][0]}、{name}", None)  # 各区、县级市: one collective
                continue
            if not name.startswith("各") and ETC_SUFFIX_RE.search(name):
                name = ETC_SUFFIX_RE.sub("", name) or name
            alias = None
            if not is_collective(name) and (m := PAREN_ALIAS_RE.match(name)):
                name, alias = m.group(1), m.group(2)
            prev_collective = is_collective(name)
            out.append((name, alias))
    return out


def split_lead_marks(text: str) -> tuple[str, str]:
    """'X（牵头）、Y、Z（牵头）' → ('X、Z', 'Y'): units marked （牵头） in a 责任单位 list lead."""
    if not LEAD_MARK_RE.search(text):
        return "", text
    lead: list[str] = []
    rest: list[str] = []
    for piece in re.split(r"[、，,；;]", text):
        if not piece.strip():
            continue
        (lead if LEAD_MARK_RE.search(piece) else rest).append(LEAD_MARK_RE.sub("", piece).strip())
    return "、".join(lead), "、".join(rest)


@dataclass(frozen=True)
class AliasEntry:
    name: str
    aliases: tuple[str, ...]
    region: str | None = None  # None: any region


@dataclass
class AliasTable:
    entries: list[AliasEntry] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> AliasTable:
        if not path.exists():
            return cls()
        data = tomllib.loads(path.read_text("utf-8"))
        return cls(
            [
                AliasEntry(e["name"], tuple(e.get("aliases", ())), e.get("region"))
                for e in data.get("unit", [])
            ]
        )

    def canonical(self, name: str, region: str | None) -> str:
        """The curated canonical spelling of a printed unit name (县卫健委 → 县卫生健康委)."""
        for e in self.entries:
            if (e.region is None or region is None or e.region == region) and name in e.aliases:
                return e.name
        return name


REGION_NAME_RE = re.compile(rf"^(.{{2,}}?)(?:[^{LEVELS}]{{1,4}}族)*(?:自治)?[{LEVELS}]$")


def region_level(region: str) -> str:
    """The government level a region name ends with: 某某土家族自治县 → 县, 天河区 → 区."""
    return region[-1] if region and region[-1] in LEVELS else ""


def short_region(region: str) -> str:
    """How people name the region: 酉阳土家族苗族自治县 → 酉阳, 万州区 → 万州, 广州市 → 广州."""
    m = REGION_NAME_RE.match(region)
    return m.group(1) if m else region


def auto_aliases(name: str, region: str) -> set[str]:
    """Obvious aliases of a unit named after its government's level: in a 县 plan 县科技局 is
    also 科技局 / 某某县科技局 / 某某科技局; the same for 区, 市, 省 plans."""
    out: set[str] = set()
    level = region_level(region)
    short = short_region(region)
    if level and name.startswith(level) and len(name) > 2:
        rest = name[len(level) :]
        out |= {rest, f"{region}{rest}", f"{short}{rest}", f"{short}{level}{rest}"}
    if name.endswith("委") and not name.endswith("管委"):
        out.add(name + "员会")
    return out - {name}


# What a department's name ends in; people use one for another (商务局 for 商务委: departments
# are renamed and merged), so a name with one is also found with the others.
ORG_SUFFIXES = ("委员会", "办公室", "中心", "局", "委", "办")


def suffix_aliases(names: set[str], regions: set[str]) -> dict[tuple[str, str], set[str]]:
    """(region, name) → the unit's name with its level word and other department suffixes
    (区商务委 → 区商务局, 商务局), for the units whose core (商务) no other unit of the same
    level has: a swapped suffix must never point at two departments."""
    out: dict[tuple[str, str], set[str]] = {}
    for region in regions:
        level = region_level(region)
        cores: dict[str, list[str]] = {}
        for name in names:
            rest = name[len(level):] if level and name.startswith(level) else ""
            suffix = next((x for x in ORG_SUFFIXES if rest.endswith(x)), "")
            core = rest[: len(rest) - len(suffix)]
            if suffix and len(core) >= 2 and not rest.endswith("管委") and not is_collective(name):
                cores.setdefault(core, []).append(name)
        for core, owners in cores.items():
            if len(owners) == 1:
                out[(region, owners[0])] = {f"{p}{core}{x}" for p in (level, "") for x in ORG_SUFFIXES} - {owners[0]}
    return out


def _core(name: str) -> tuple[str, str]:
    """A department name without its level word, split into core and suffix (商务, 委)."""
    rest = name[1:] if name[:1] in "县区市省" else name
    suffix = next((x for x in ORG_SUFFIXES if rest.endswith(x)), "")
    return rest[: len(rest) - len(suffix)], suffix


def is_suffix_swap(alias: str, name: str) -> bool:
    """The alias is the name with another department suffix (区商务局 for 区商务委): made by
    `suffix_aliases` to find what people type, not a name the unit is known by."""
    (a_core, a_suffix), (n_core, n_suffix) = _core(alias), _core(name)
    return bool(a_suffix and n_suffix and a_core == n_core and a_suffix != n_suffix)


# a phrase that reads as a department's name: a few characters, then a department suffix
ORG_PHRASE_RE = re.compile(r"[\u4e00-\u9fff]{2,12}?(?:中心|局|委|办|组|支行|分局|部|院)")


@lru_cache(maxsize=8192)
def toneless(ch: str) -> str:
    """A character's toneless pinyin (its first reading)."""
    from pypinyin import lazy_pinyin

    return lazy_pinyin(ch)[0]


def _in_order(short: str, long: str) -> bool:
    """Every character of `short` appears in `long`, in the same order."""
    it = iter(long)
    return all(ch in it for ch in short)


def _alias_automaton(aliases: list[str]) -> Any:
    """An Aho-Corasick automaton over aliases of two or more characters; each match reports
    the alias's position in `aliases`. None when there is nothing to match."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for rank, alias in enumerate(aliases):
        if len(alias) >= 2:
            automaton.add_word(alias, rank)
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


def _merged(units: list[Unit]) -> Unit:
    """One by-name view of same-named units of several regions (plans and aliases together)."""
    return Unit(
        units[0].name,
        tuple(sorted({a for u in units for a in u.aliases})),
        tuple(sorted({p for u in units for p in u.plans})),
        units[0].collective,
        "",
    )


class UnitRegistry:
    """Canonical units across plans, with alias lookup scoped by plan.

    A unit's identity is (issuing region, name): 市发展改革委 of two cities are two units, each
    with its own aliases and plans, while one region's plans share theirs. `units` keeps a
    by-name view (the plans of every region using the name) for callers that already work
    plan by plan; `scoped` holds the units themselves.
    """

    def __init__(self, units: Iterable[Unit], plans: dict[str, Plan], table: AliasTable):
        self.plans = plans
        self.scoped: dict[tuple[str, str], Unit] = {(u.region, u.name): u for u in units}
        by_name: dict[str, list[Unit]] = {}
        for u in self.scoped.values():
            by_name.setdefault(u.name, []).append(u)
        self._by_name = by_name
        self.units: dict[str, Unit] = {
            name: us[0] if len(us) == 1 else _merged(us) for name, us in by_name.items()
        }
        # alias -> [(canonical name, plan ids it is valid for)]: scoped to the unit's region
        self._index: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for u in self.scoped.values():
            for alias in (u.name, *u.aliases):
                self._index.setdefault(alias, []).append((u.name, u.plans))
        for e in table.entries:
            for u in by_name.get(e.name, []):
                scope = tuple(
                    pid
                    for pid in u.plans
                    if e.region is None or (pid in plans and plans[pid].region == e.region)
                )
                for alias in e.aliases:
                    if scope and (e.name, scope) not in self._index.setdefault(alias, []):
                        self._index[alias].append((e.name, scope))
        self._by_length = sorted(self._index, key=len, reverse=True)
        self._index_sets = {
            alias: [(n, frozenset(pids)) for n, pids in entries] for alias, entries in self._index.items()
        }
        # one Aho-Corasick automaton over every alias: finding the units a text names costs
        # the text's length, not the number of aliases (hundreds of plans, thousands of aliases)
        self._automaton = _alias_automaton(self._by_length)
        self._near: dict[str, set[str]] | None = None  # built on first use (see corrected)
        self._names_cache: set[str] | None = None
        self._sounds: dict[str, set[str]] | None = None  # toneless pinyin → names (see _homophone)
        self._corrected: dict[str, str] = {}  # text → the text with a mistyped unit name put right
        self._sound_lengths: list[int] = []
        self._near_lengths: list[int] = []
        self._order = {key: i for i, key in enumerate(self.scoped)}
        self._all_plans = frozenset(plans)
        self._everywhere: dict[str, list[str]] = {}
        self._entries_by_plan: dict[str, dict[str, list[int]]] = {}
        self._by_plan: dict[str, list[Unit]] = {}
        for u in self.scoped.values():
            for pid in u.plans:
                self._by_plan.setdefault(pid, []).append(u)

    @classmethod
    def build(
        cls, plans: dict[str, Plan], tasks: Iterable[Task], table: AliasTable
    ) -> UnitRegistry:
        scopes: dict[tuple[str, str], set[str]] = {}
        for t in tasks:
            for name in t.units():
                scopes.setdefault((plans[t.plan_id].region, name), set()).add(t.plan_id)
        swapped = suffix_aliases({key[1] for key in scopes}, {key[0] for key in scopes})
        units = []
        for (region, name), pids in sorted(scopes.items()):
            aliases = auto_aliases(name, region) | {
                a for a in swapped.get((region, name), set()) if a not in scopes
            }
            for e in table.entries:
                if e.name == name and (e.region is None or e.region == region):
                    aliases |= set(e.aliases)
            units.append(
                Unit(
                    name,
                    tuple(sorted(aliases - {name})),
                    tuple(sorted(pids)),
                    is_collective(name),
                    region,
                )
            )
        return cls(units, plans, table)

    NEAR_MIN = 6  # aliases at least this long are found with one character mistyped

    def corrected(self, text: str) -> str:
        """The text with a long unit name typed with one wrong character put right
        (县金融发展服务中新 → 县金融发展服务中心). Only names of NEAR_MIN characters or more,
        only where the window is no name itself, and only when the mistyped form fits one
        name: short names one character apart are different departments (商务局, 税务局).
        Kept per text: suggestions and follow-ups ask the same texts again."""
        hit = self._corrected.get(text)
        if hit is None:
            if len(self._corrected) > 10_000:
                self._corrected.clear()
            hit = self._corrected[text] = self._correct(text)
        return hit

    def _correct(self, text: str) -> str:
        names = self._long_names()
        if self._near is None:
            # the names as printed and without their level word (县金融发展服务中心,
            # 金融发展服务中心): a few keys per unit, however many aliases it has
            near: dict[str, set[str]] = {}
            for name in names:
                if len(name) >= self.NEAR_MIN:
                    for i in range(len(name)):
                        near.setdefault(f"{name[:i]}\x00{name[i + 1:]}", set()).add(name)
            self._near = near
            self._near_lengths = sorted({len(n) for n in names if len(n) >= self.NEAR_MIN})
        original = text
        taken = [False] * len(text)
        fixes: list[tuple[int, int, str]] = []
        for n in reversed(self._near_lengths):  # longest names first, never two on one span
            for start in range(len(text) - n + 1):
                window = text[start:start + n]
                if any(taken[start:start + n]) or window in self._index \
                        or not re.fullmatch(r"[\u4e00-\u9fff]+", window):
                    continue
                fits = {a for i in range(n) for a in self._near.get(f"{window[:i]}\x00{window[i + 1:]}", ())}
                if len(fits) == 1:
                    fixes.append((start, n, fits.pop()))
                    taken[start:start + n] = [True] * n
        for start, n, alias in sorted(fixes, reverse=True):
            text = text[:start] + alias + text[start + n:]
        if not fixes:
            text = self._filled_in(text, names)
        if text == original:
            text = self._homophone(text)
        return text

    def _homophone(self, text: str) -> str:
        """A unit name typed with a character that sounds the same (卫建委 for 卫健委, 发该委 for
        发改委: what pinyin input methods produce): the one name or short alias of three or
        more characters whose toneless pinyin the window shares. Names that differ in sound
        (商务局, 税务局) are never taken for each other."""
        if self._sounds is None:
            sounds: dict[str, set[str]] = {}
            for u in self.scoped.values():
                if u.collective:
                    continue
                for name in {u.name, *(a for a in u.aliases if 3 <= len(a) <= 5)}:
                    if len(name) >= 3 and re.fullmatch(r"[\u4e00-\u9fff]+", name):
                        sounds.setdefault(" ".join(toneless(ch) for ch in name), set()).add(name)
            self._sounds = sounds
            self._sound_lengths = sorted({len(k.split()) for k in sounds}, reverse=True)
        # each character's sound once (a character's own reading: names and text alike)
        sound = [toneless(ch) if "\u4e00" <= ch <= "\u9fff" else "" for ch in text]
        for n in self._sound_lengths:
            for start in range(len(text) - n + 1):
                if not all(sound[start:start + n]) or text[start:start + n] in self._index:
                    continue
                fits = self._sounds.get(" ".join(sound[start:start + n]), set())
                if len(fits) == 1:
                    return text[:start] + next(iter(fits)) + text[start + n:]
        return text

    def _filled_in(self, text: str, names: set[str]) -> str:
        """A department named with a word or two left out (金融事务中心 for 金融工作事务中心):
        the one long name that starts and ends as it does and holds its characters in order."""
        for m in ORG_PHRASE_RE.finditer(text):
            for start in range(m.start(), m.end() - self.NEAR_MIN + 2):  # words before the name
                phrase = text[start:m.end()]
                if phrase in self._index:
                    break
                fits = {n for n in names if 1 <= len(n) - len(phrase) <= 2 and n[0] == phrase[0]
                        and n[-1] == phrase[-1] and _in_order(phrase, n)}
                if len(fits) == 1:
                    return text[:start] + fits.pop() + text[m.end():]
        return text

    def _long_names(self) -> set[str]:
        if self._names_cache is None:
            # names as printed, without their level word, and long aliases (市场监督管理局, the
            # full form of 市场监管局, is typed as often as the plans' short one) -- but not an
            # alias made long by a place name (A县财政局): one character from it is another
            # county's department (A县民政局) or a topic (A县文化旅游方面)
            places = {x for p in self.plans.values() for x in (p.short_name, p.region) if x}
            self._names_cache = {
                n for u in self.scoped.values() if not u.collective
                for n in (u.name, u.name[1:] if u.name[:1] in "县区市省" else "",
                          *(a for a in u.aliases if not any(x in a for x in places)))
                if len(n) >= self.NEAR_MIN - 1 and re.fullmatch(r"[\u4e00-\u9fff]+", n)
            }
        return self._names_cache

    def resolve(self, query: str, plan_ids: Iterable[str] | None = None) -> list[Unit]:
        """Units a name refers to, within the given plans (all plans if None), one per name.

        Exact name or alias first; otherwise units whose name contains the query
        (卫生健康 → 县卫生健康委) or is contained in it. A name that two regions' units share
        comes back once, with only the plans of the regions it was found in.
        """
        q = re.sub(r"\s+", "", query)
        scope = set(plan_ids) if plan_ids else set(self.plans)
        hits = [
            u
            for n, pids in self._index.get(q, [])
            if scope & set(pids)
            for u in self._by_name.get(n, [])
            if scope & set(pids) & set(u.plans)
        ]
        if not hits and len(q) >= 2:
            hits = [
                u
                for u in self._units_in(scope)
                if q in u.name or (len(u.name) >= 3 and u.name in q)
            ]
        by_name: dict[str, list[Unit]] = {}
        for u in hits:
            if u not in by_name.setdefault(u.name, []):
                by_name[u.name].append(u)
        return [us[0] if len(us) == 1 else _merged(us) for us in by_name.values()]

    def mentions(
        self, text: str, plan_ids: Iterable[str] | None = None
    ) -> list[tuple[str, list[str]]]:
        """(alias as written, candidate canonical names) for each unit named in free
        text, longest alias first, non-overlapping, in order of appearance."""
        scope = set(plan_ids) if plan_ids else self._all_plans
        if self._automaton is None or len(text) < 2:
            return []
        whole = scope == self._all_plans
        # every occurrence of every alias, grouped by alias (rank = place in longest-first order)
        starts: dict[int, list[int]] = {}
        for end, rank in self._automaton.iter(text):
            starts.setdefault(rank, []).append(end - len(self._by_length[rank]) + 1)
        taken = [False] * len(text)
        found: list[tuple[int, str, list[str]]] = []
        for rank in sorted(starts):  # longest alias first, as before
            alias = self._by_length[rank]
            names = self._names_everywhere(alias) if whole else self._names_within(alias, scope)
            if not names:
                continue
            after = 0  # occurrences of one alias do not overlap each other (left to right)
            for start in starts[rank]:
                end = start + len(alias)
                if start < after:
                    continue
                after = end
                if any(taken[start:end]):
                    continue
                taken[start:end] = [True] * (end - start)
                found.append((start, alias, names))
        return [(alias, names) for _, alias, names in sorted(found)]

    def _names_within(self, alias: str, scope: set[str] | frozenset[str]) -> list[str]:
        """Canonical names an alias stands for in any of the plans in scope (in entry order)."""
        entries = self._index_sets[alias]
        if len(entries) <= 8 or len(scope) > 8:
            return list(dict.fromkeys(n for n, pids in entries if not scope.isdisjoint(pids)))
        # an alias many regions share, asked about a few plans: only those plans' entries
        by_plan = self._entries_by_plan.get(alias)
        if by_plan is None:
            by_plan = {}
            for i, (_, pids) in enumerate(entries):
                for pid in pids:
                    by_plan.setdefault(pid, []).append(i)
            self._entries_by_plan[alias] = by_plan
        hits = sorted({i for pid in scope for i in by_plan.get(pid, ())})
        return list(dict.fromkeys(entries[i][0] for i in hits))

    def _names_everywhere(self, alias: str) -> list[str]:
        """The same over every plan, computed once per alias (an alias many regions share has
        one entry per region: hundreds of plans make this the costly part of `mentions`)."""
        names = self._everywhere.get(alias)
        if names is None:
            names = self._everywhere[alias] = self._names_within(alias, self._all_plans)
        return list(names)

    def _units_in(self, scope: set[str]) -> list[Unit]:
        """Scoped units used by any plan in scope, in registry order."""
        seen: dict[int, Unit] = {}
        for pid in scope:
            for u in self._by_plan.get(pid, ()):
                seen.setdefault(self._order[(u.region, u.name)], u)
        return [seen[i] for i in sorted(seen)]

    def find_in_text(self, text: str, plan_ids: Iterable[str] | None = None) -> list[Unit]:
        """Units mentioned in free text (every candidate of an ambiguous alias)."""
        return [self.units[n] for _, names in self.mentions(text, plan_ids) for n in names]

    def aliases_of(self, name: str) -> set[str]:
        unit = self.units.get(name)
        return {name, *(unit.aliases if unit else ())}
