"""The intents, in one table: how each is gathered, composed and followed up.

Detection lives in ``understand.py`` (slots decide the intent); a new intent is one entry
here plus its gather and compose functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..retrieval.store import IndexStore
from . import compose as C
from . import evidence as E
from .understand import Query

Gather = Callable[[IndexStore, Query], E.Evidence]
Compose = Callable[[Query, E.Evidence, C.Context, C.Draft], None]


@dataclass(frozen=True)
class IntentSpec:
    name: str
    gather: Gather
    compose: Compose
    description: str


def _nothing(store: IndexStore, q: Query) -> E.Evidence:
    return E.NONE


INTENTS: dict[str, IntentSpec] = {
    spec.name: spec
    for spec in (
        IntentSpec("unit_tasks", E.gather_unit_tasks, C.compose_unit_tasks,
                   "which tasks a unit leads or supports: complete lists from the tables"),
        IntentSpec("task_units", E.gather_task_units, C.compose_task_units,
                   "who leads / is responsible for a task, by number or by description"),
        IntentSpec("applies", E.gather_applies, C.compose_applies,
                   "which measures apply to a situation: ranked tasks, coverage-checked"),
        IntentSpec("topic", E.gather_topic, C.compose_topic,
                   "every task on a topic, grouped by plan, with counts"),
        IntentSpec("compare", E.gather_compare, C.compose_compare,
                   "per topic: only in one plan, in both"),
        IntentSpec("plan_facts", E.gather_plan_facts, C.compose_plan_facts,
                   "文号, dates, issuer, task count, period, goals, principles, safeguards"),
        IntentSpec("smalltalk", _nothing, C.compose_smalltalk, "greetings, thanks, what I can do"),
        IntentSpec("out_of_scope", _nothing, C.compose_out_of_scope, "not about the plans"),
    )
}
