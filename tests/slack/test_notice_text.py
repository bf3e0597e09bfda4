"""The one-line channel notices: outside text can never ping or link; only the actor and
the users the bot itself named become mentions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain import lifecycle
from bot.domain.incident import IncidentSnapshot, initial_steps
from bot.domain.records import Person, said
from bot.domain.types import IncidentStatus, OorType, Role, Severity
from bot.incidents.timeline import notice_payload
from bot.slack.renderers import notice_text


def notice(text: str, mentions: list[str] | None = None, **extra: Any) -> str:
    payload: dict[str, Any] = {"actor": "U0ACTOR", "text": text, "kind": "finding"}
    payload["mentions"] = mentions or []
    payload.update(extra)
    return notice_text(payload)


def test_the_actor_is_mentioned_with_the_icon_of_the_kind() -> None:
    assert notice("finding: 502s") == "🔎 <@U0ACTOR> finding: 502s"
    assert notice("x", kind="step").startswith("▶️ <@U0ACTOR> ")
    assert notice("x", kind="something_new").startswith("• <@U0ACTOR> ")


def test_without_an_actor_there_is_no_mention() -> None:
    assert notice("recovered", actor=None, kind="recovered") == "💚 recovered"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<!channel> pay now", "&lt;!channel&gt; pay now"),
        ("see <https://evil.example|your bank>", "see &lt;https://evil.example|your bank&gt;"),
        ("R&D &amp; ops", "R&amp;D &amp;amp; ops"),
        ("a < b > c", "a &lt; b &gt; c"),
    ],
)
def test_outside_text_is_escaped(text: str, shown: str) -> None:
    assert notice(text) == f"🔎 <@U0ACTOR> {shown}"


def test_only_listed_users_become_mentions() -> None:
    text = "made <@U0BOB> the commander (was <@U0ALICE>), cc <@U0EVE>"
    shown = notice(text, mentions=["U0BOB", "U0ALICE"], kind="role")
    assert shown == (
        "👤 <@U0ACTOR> made <@U0BOB> the commander (was <@U0ALICE>), cc &lt;@U0EVE&gt;"
    )


def test_a_listed_user_does_not_unlock_longer_ids_or_labels() -> None:
    shown = notice("<@U0BOBBY> <@U0BOB|boss> <@U0BOB>", mentions=["U0BOB"])
    assert shown == "🔎 <@U0ACTOR> &lt;@U0BOBBY&gt; &lt;@U0BOB|boss&gt; <@U0BOB>"


def test_text_typed_to_look_escaped_stays_literal() -> None:
    # Someone typed "&lt;@U0BOB&gt;" (the characters); it must not become a ping.
    assert notice("&lt;@U0BOB&gt;", mentions=["U0BOB"]) == ("🔎 <@U0ACTOR> &amp;lt;@U0BOB&amp;gt;")


def test_a_role_change_from_the_lifecycle_pings_both_holders() -> None:
    incident = IncidentSnapshot(
        number=1,
        type=OorType.SYSTEM_CRASH,
        title="DB down",
        severity=Severity.SEV1,
        status=IncidentStatus.OPEN,
        source="slack",
        opened_at=datetime(2026, 1, 1, tzinfo=UTC),
        steps=initial_steps(),
        roles={Role.TECH: "U0OLD"},
    )
    change = lifecycle.assign(incident, "U0ACTOR", incident.opened_at, Role.TECH, "U0NEW")
    (note,) = change.timeline
    payload = notice_payload("U0ACTOR", note.kind, note.said)
    assert notice_text(payload) == ("👤 <@U0ACTOR> made <@U0NEW> the tech lead (was <@U0OLD>)")


def test_a_sentence_escapes_its_text_and_mentions_only_the_people_it_names() -> None:
    sentence = said("finding: <!channel> & ", Person("U0BOB"), " saw <@U0EVE>")
    assert notice_text(notice_payload("U0ACTOR", "finding", sentence)) == (
        "🔎 <@U0ACTOR> finding: &lt;!channel&gt; &amp; <@U0BOB> saw &lt;@U0EVE&gt;"
    )
