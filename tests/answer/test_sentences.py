"""Regrouping streamed LLM text into sentences (verified and sent one at a time)."""

from __future__ import annotations

import pytest

from assistant.answer.assistant import sentences

pytestmark = pytest.mark.unit


def split(*pieces: str) -> list[str]:
    return list(sentences(iter(pieces)))


def test_cited_sentence_is_complete_at_its_full_stop() -> None:
    # the second piece never arrives before the first sentence is out
    gen = sentences(iter(["由县商务委", "牵头 [1]。", "另有"]))
    assert next(gen) == "由县商务委牵头 [1]。"
    assert list(gen) == ["另有"]


def test_markers_after_the_full_stop_stay_with_the_sentence() -> None:
    assert split("由县商务委牵头。", "[1]", "[2] 其次。") == ["由县商务委牵头。[1][2]", " 其次。"]
    # a marker split across pieces is waited for
    assert split("牵头。[", "1]下一句") == ["牵头。[1]", "下一句"]


def test_line_breaks_and_english_full_stops() -> None:
    assert split("第一行\n第二行") == ["第一行\n", "第二行"]
    assert split("1. The lead is X [1]. Then Y.") == ["1. The lead is X [1].", " Then Y."]


@pytest.mark.parametrize(
    "pieces",
    [
        ["a。b！c？", "d\n\ne [1]。"],
        ["".join(chr(0x4E00 + i) for i in range(30)) + "。"],
        ["x"],
        [],
    ],
)
def test_concatenation_gives_the_input_back(pieces: list[str]) -> None:
    assert "".join(split(*pieces)) == "".join(pieces)
