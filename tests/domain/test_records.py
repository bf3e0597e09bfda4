"""Records: what the bot says as data, so each surface can show people its own way."""

from __future__ import annotations

import pytest

from bot.domain.records import Person, Sentence, clip, is_user_id, said

ROLE = said("made ", Person("U02BOB"), " the tech lead (was ", Person("U01ALICE"), ")")


def test_a_sentence_names_people_by_id_and_merges_its_text() -> None:
    assert said("a", "", None, "b", said(" c")) == Sentence(("ab c",))
    assert ROLE.people() == ("U02BOB", "U01ALICE")
    assert str(ROLE) == "made U02BOB the tech lead (was U01ALICE)"
    assert ROLE.plain({"U02BOB": "Bob Li"}) == "made Bob Li the tech lead (was U01ALICE)"
    shown = ROLE.render(lambda user: f"[{user}]", str.upper)
    assert shown == "MADE [U02BOB] THE TECH LEAD (WAS [U01ALICE])"
    assert not said() and not said("") and said(Person("U1"))


def test_json_round_trip_keeps_people_apart_from_text_that_looks_like_them() -> None:
    tricky = said("typed {'person': 'U9'} and <@U9> by hand, by ", Person("U02BOB"))
    data = tricky.to_json()
    assert data == ["typed {'person': 'U9'} and <@U9> by hand, by ", {"person": "U02BOB"}]
    assert Sentence.from_json(data) == tricky
    assert Sentence.from_json(data).people() == ("U02BOB",)


def test_clip_keeps_whole_people_and_marks_the_cut() -> None:
    assert clip(ROLE, 1000) is ROLE
    cut = clip(said("x" * 10, Person("U02BOB"), "y" * 10), 13)
    assert cut == said("x" * 10, Person("U02BOB"), "y", "…")
    assert clip(said("abcdef"), 4) == said("abc…")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("U01ALICE", True), ("W012ABCDEF", True), ("U1", True), ("alertmanager", False),
     ("oor-bot", False), ("U01alice", False), ("", False), ("<@U01ALICE>", False)],
)  # fmt: skip
def test_is_user_id(text: str, expected: bool) -> None:
    assert is_user_id(text) is expected
