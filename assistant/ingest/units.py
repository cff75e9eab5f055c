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
from pathlib import Path

from ..records import Plan, Task, Unit

SEPARATORS = "、，,；;"
LEVELS = "省市州盟区县旗镇乡"  # the government levels a plan's region can end with
COLLECTIVE_RE = re.compile(
    rf"^([{LEVELS}]{{1,2}}级|[{LEVELS}](政府|委)?)?各|^相关|^有关|成员单位$|^项目牵头单位$"
)
ETC_SUFFIX_RE = re.compile(r"等(责任|相关|有关)?(部门|单位)$")
PAREN_ALIAS_RE = re.compile(r"^(.+?)[（(](.+?)[)）]$")


def split_units(text: str) -> list[tuple[str, str | None]]:
    """Split a printed unit list into (name, alias-in-parentheses) pairs.

    Splits on 、，；(never inside parentheses), on 及 before a collective
    (县科技局及各行业主管部门), and drops a trailing 等责任部门.
    """
    parts: list[str] = []
    depth, cur = 0, ""
    for ch in text:
        if ch in "（(":
            depth += 1
        elif ch in ")）":
            depth = max(0, depth - 1)
        if ch in SEPARATORS and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out: list[tuple[str, str | None]] = []
    for part in parts:
        for piece in re.split(r"及(?=各|相关|有关|其他)", part.strip().strip("。.")):
            name = re.sub(r"\s+", "", piece)
            if not name:
                continue
            if not name.startswith("各") and ETC_SUFFIX_RE.search(name):
                name = ETC_SUFFIX_RE.sub("", name) or name
            alias = None
            if m := PAREN_ALIAS_RE.match(name):
                name, alias = m.group(1), m.group(2)
            out.append((name, alias))
    return out


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


class UnitRegistry:
    """Canonical units across plans, with alias lookup scoped by plan."""

    def __init__(self, units: Iterable[Unit], plans: dict[str, Plan], table: AliasTable):
        self.units: dict[str, Unit] = {u.name: u for u in units}
        self.plans = plans
        # alias -> [(canonical name, plan ids it is valid for)]
        self._index: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for u in self.units.values():
            for alias in (u.name, *u.aliases):
                self._index.setdefault(alias, []).append((u.name, u.plans))
        for e in table.entries:
            if e.name not in self.units:
                continue
            scope = tuple(
                pid
                for pid in self.units[e.name].plans
                if e.region is None or plans[pid].region == e.region
            )
            for alias in e.aliases:
                if (e.name, scope) not in self._index.setdefault(alias, []):
                    self._index[alias].append((e.name, scope))
        self._by_length = sorted(self._index, key=len, reverse=True)

    @classmethod
    def build(
        cls, plans: dict[str, Plan], tasks: Iterable[Task], table: AliasTable
    ) -> UnitRegistry:
        scopes: dict[str, set[str]] = {}
        for t in tasks:
            for name in t.units():
                scopes.setdefault(name, set()).add(t.plan_id)
        units = []
        for name, pids in sorted(scopes.items()):
            aliases: set[str] = set()
            for pid in pids:
                aliases |= auto_aliases(name, plans[pid].region)
            for e in table.entries:
                if e.name == name:
                    aliases |= set(e.aliases)
            units.append(
                Unit(
                    name,
                    tuple(sorted(aliases)),
                    tuple(sorted(pids)),
                    bool(COLLECTIVE_RE.search(name)),
                )
            )
        return cls(units, plans, table)

    def resolve(self, query: str, plan_ids: Iterable[str] | None = None) -> list[Unit]:
        """Units a name refers to, within the given plans (all plans if None).

        Exact name or alias first; otherwise units whose name contains the query
        (卫生健康 → 县卫生健康委) or is contained in it.
        """
        q = re.sub(r"\s+", "", query)
        scope = set(plan_ids) if plan_ids else set(self.plans)
        hits = [n for n, pids in self._index.get(q, []) if scope & set(pids)]
        if not hits and len(q) >= 2:
            hits = [
                u.name
                for u in self.units.values()
                if scope & set(u.plans) and (q in u.name or (len(u.name) >= 3 and u.name in q))
            ]
        return [self.units[n] for n in dict.fromkeys(hits)]

    def mentions(
        self, text: str, plan_ids: Iterable[str] | None = None
    ) -> list[tuple[str, list[str]]]:
        """(alias as written, candidate canonical names) for each unit named in free
        text, longest alias first, non-overlapping, in order of appearance."""
        scope = set(plan_ids) if plan_ids else set(self.plans)
        taken = [False] * len(text)
        found: list[tuple[int, str, list[str]]] = []
        for alias in self._by_length:
            if len(alias) < 2:
                continue
            for m in re.finditer(re.escape(alias), text):
                if any(taken[m.start() : m.end()]):
                    continue
                names = list(
                    dict.fromkeys(n for n, pids in self._index[alias] if scope & set(pids))
                )
                if names:
                    taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                    found.append((m.start(), alias, names))
        return [(alias, names) for _, alias, names in sorted(found)]

    def find_in_text(self, text: str, plan_ids: Iterable[str] | None = None) -> list[Unit]:
        """Units mentioned in free text (every candidate of an ambiguous alias)."""
        return [self.units[n] for _, names in self.mentions(text, plan_ids) for n in names]

    def aliases_of(self, name: str) -> set[str]:
        unit = self.units.get(name)
        return {name, *(unit.aliases if unit else ())}
