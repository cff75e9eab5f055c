"""Fixtures shared by the eval-harness tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evals.cases import GOLD_FILE, Gold, load_gold

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def gold() -> Gold:
    return load_gold(GOLD_FILE, ROOT / "corpus")
