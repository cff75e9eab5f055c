"""The comparison's task alignment over many plans (an index of shared bigrams) gives exactly
what the pairwise comparison gives: the same closest task, the same similarity, the same pick
among equals."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.evidence import closest_elsewhere
from assistant.bench import varied_corpus
from assistant.ingest.index import parse_file
from assistant.ingest.units import AliasTable
from tests.conftest import ROOT

pytestmark = [pytest.mark.unit]


def test_indexed_alignment_matches_pairwise(tmp_path: Path) -> None:
    varied_corpus(ROOT / "corpus", tmp_path, 6)
    lists = [parse_file(p, AliasTable())[1].tasks for p in sorted(tmp_path.glob("varied-*.txt"))]
    lists = [ts[:25] for ts in lists] + [[]]  # an empty list too
    pairwise = closest_elsewhere(lists, brute_force_below=10**9)
    indexed = closest_elsewhere(lists, brute_force_below=0)
    assert sum(len(r) for r in indexed) > 100
    for a, b in zip(pairwise, indexed, strict=True):
        assert [(m, s) for m, s in a] == [(m, s) for m, s in b]
        assert all(x[0] is y[0] for x, y in zip(a, b, strict=True))  # the same task object
    # recombined plans share tasks: some matches pass the 0.5 bar, some do not
    sims = [s for row in indexed for _, s in row]
    assert any(s >= 0.5 for s in sims) and any(s < 0.5 for s in sims)
    assert closest_elsewhere([lists[0], []], brute_force_below=0)[0][0] == (None, 0.0)
