"""Shared builders for the eval-harness tests."""

from __future__ import annotations

from assistant.evals.cases import Case


def case(
    kind: str,
    expect: dict,
    turns: tuple[str, ...] = ("问题",),
    plan_id: str | None = None,
    lang: str = "zh",
) -> Case:
    """An answered case of `kind` with the given expectations (status defaults to answered)."""
    return Case("t-001", kind, turns, plan_id, {"status": "answered", **expect}, "test", (), lang)
