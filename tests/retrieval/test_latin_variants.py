"""English glossary words match however a compound is joined: "live-stream", "live stream" and
"livestream" are one word to the synonym expansion and to topic matching. Invented task texts
and glossary entries in the genre's style, not the seeds'."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.records import Task
from assistant.retrieval.retrieve import _has_word, expand_query, within_phrases
from assistant.retrieval.topics import TopicMatcher

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("we want to start live-stream sales", "livestream"),
        ("we want to start live stream sales", "livestream"),
        ("we do livestream sales", "live stream"),
        ("we do livestreaming", "live-stream"),
        ("a high tech enterprise", "high-tech enterprise"),
        ("a hightech enterprise", "high-tech enterprise"),
        ("high-tech enterprises", "high tech enterprise"),
        ("selling by ecommerce", "e-commerce"),
        ("selling by e-commerce", "ecommerce"),
        ("a non profit hospital", "non-profit"),
        ("a fast-track for permits", "fast track"),
    ],
)
def test_compound_spellings_match(text: str, word: str) -> None:
    assert _has_word(text, word)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("what's on the list", "son"),  # a space may split a word only into parts of 3+ letters
        ("the reason is", "son"),
        ("patentable ideas", "patent"),
        ("an ipad", "ip"),
        ("live streams of rivers", "livestock"),
    ],
)
def test_other_words_do_not_match(text: str, word: str) -> None:
    assert not _has_word(text, word)


@pytest.fixture()
def synonyms(tmp_path: Path) -> Path:
    path = tmp_path / "synonyms.toml"
    path.write_text(
        '[english]\n'
        '"直播带货" = ["livestream"]\n'
        '"高新技术企业" = ["high-tech enterprise"]\n'
        '"电商" = ["e-commerce"]\n'
        '"工作许可" = ["work permit"]\n'
        '"审批" = ["permit"]\n',
        "utf-8",
    )
    return path


def added(text: str, path: Path) -> str:
    return expand_query(text, path)[len(text):].strip()


def test_expansion_is_the_same_for_every_spelling(synonyms: Path) -> None:
    spellings = ["Can I do live-stream selling", "Can I do live stream selling", "Can I do livestream selling"]
    assert {added(s, synonyms) for s in spellings} == {"直播带货"}
    spellings = ["Is it a high tech enterprise", "Is it a high-tech enterprise", "Is it a hightech enterprise"]
    assert {added(s, synonyms) for s in spellings} == {"高新技术企业"}
    assert added("ecommerce shops", synonyms) == added("e-commerce shops", synonyms) == "电商"


def test_a_word_inside_a_longer_phrase_means_the_phrase(synonyms: Path) -> None:
    assert within_phrases("a work-permit and a permit", ["permit", "work permit"]) == set()
    assert within_phrases("a fast work permit", ["permit", "work permit"]) == {"permit"}
    assert added("How do I get a work-permit?", synonyms) == "工作许可"
    assert added("Which permit do I need?", synonyms) == "审批"


TEXTS = {
    1: "发展跨境电商、直播带货等新兴消费。",
    2: "对认定为高新技术企业的，按规定享受所得税优惠。",
    3: "支持职业学校开展合作办学。",
}
PAIRS = (
    ("livestream", "直播带货"),
    ("high-tech enterprise", "高新技术企业"),
    ("tech", "科技"),
)


def task(n: int) -> Task:
    return Task("p", n, "", TEXTS[n], (), ("某局",), (), "责任单位", "", "", n, n)


@pytest.fixture(scope="module")
def matcher() -> TopicMatcher:
    docs = {("p", n): t for n, t in TEXTS.items()}
    return TopicMatcher(docs, "".join(TEXTS.values()), PAIRS, {})


@pytest.mark.parametrize(
    ("spellings", "number"),
    [
        (["live-stream sales", "live stream sales", "livestream sales"], 1),
        (["high-tech enterprise status", "high tech enterprise status", "hightech enterprise status"], 2),
    ],
)
def test_topic_matching_is_the_same_for_every_spelling(
    matcher: TopicMatcher, spellings: list[str], number: int
) -> None:
    for text in spellings:
        assert {n for n in TEXTS if matcher.matches(text, task(n))} == {number}, text
        assert matcher.synonym_terms(text) == (PAIRS[number - 1][1],), text
    # a compound is one word however it is spelt: every spelling says as much of the question
    assert len({matcher.support(text, task(number)) for text in spellings}) == 1
    assert matcher.support(spellings[0], task(number)) >= 1.0
