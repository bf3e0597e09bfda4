"""The reminder and escalation messages (Block Kit, built with ``slack_sdk.models``).

In the incident channel::

    ⏰ Step 2 record the problem (记录问题) is overdue by 3m (due 12:45 UTC+8) · <@U02BOB>
    [Snooze 15 min] [Snooze 1 h] [Mark done]

Escalations (a second missed deadline) say so and name who was pulled in; each escalation
contact also gets a direct message linking the channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, MarkdownTextObject, SectionBlock

from bot.domain.durations import readable_duration
from bot.domain.incident import IncidentSnapshot
from bot.domain.types import Step, parse_id
from bot.reminders.messages import ESCALATION, ESCALATION_DM, REMINDER, Overdue
from bot.reminders.scan import step_label
from bot.slack.platform import SlackRenderers
from bot.slack.text import channel_link, escape, local_time, mention, truncate
from bot.slack.views import SlackMessage

ACTIONS_BLOCK_ID = "reminder_actions"
SNOOZE_15 = "reminder_snooze_15"
SNOOZE_60 = "reminder_snooze_60"
MARK_DONE = "reminder_done"
SNOOZE_MINUTES = {SNOOZE_15: 15, SNOOZE_60: 60}
TITLE_LIMIT = 150


def button_value(incident: int, step: Step) -> str:
    return f"{incident}:{step.value}"


def parse_button_value(value: str) -> tuple[int, Step] | None:
    """``"3:record"`` -> (3, Step.RECORD); None for anything else."""
    text, _, word = value.partition(":")
    number = parse_id(text)
    if number is None:
        return None
    try:
        return number, Step(word)
    except ValueError:
        return None


def overdue_text(step: Step, deadline_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """``Step 2 record the problem (记录问题) is overdue by 3m (due 12:45 UTC+8)``."""
    late = now - deadline_at
    by = f" by {readable_duration(late)}" if late >= timedelta(minutes=1) else ""
    due = local_time(
        deadline_at, tz, with_date=deadline_at.astimezone(tz).date() != now.astimezone(tz).date()
    )
    return f"{step_label(step)} is overdue{by} (due {due})"


def _buttons(incident: IncidentSnapshot, step: Step) -> ActionsBlock:
    value = button_value(incident.number, step)
    return ActionsBlock(
        block_id=ACTIONS_BLOCK_ID,
        elements=[
            ButtonElement(text="Snooze 15 min", action_id=SNOOZE_15, value=value),
            ButtonElement(text="Snooze 1 h", action_id=SNOOZE_60, value=value),
            ButtonElement(text="Mark done", action_id=MARK_DONE, value=value, style="primary"),
        ],
    )


def _mentions(users: Sequence[str]) -> str:
    return ", ".join(mention(user) for user in users)


def build_reminder_message(
    incident: IncidentSnapshot,
    step: Step,
    *,
    deadline_at: datetime,
    now: datetime,
    tz: ZoneInfo,
    owners: Sequence[str],
) -> SlackMessage:
    """Level 1: the step's deadline passed. ``owners`` are mentioned."""
    text = f"⏰ {overdue_text(step, deadline_at, now, tz)}"
    if owners:
        text += f" · {_mentions(owners)}"
    section = SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))
    return SlackMessage(text=text, blocks=(section, _buttons(incident, step)))


def build_escalation_message(
    incident: IncidentSnapshot,
    step: Step,
    *,
    deadline_at: datetime,
    now: datetime,
    tz: ZoneInfo,
    owners: Sequence[str],
    contacts: Sequence[str],
) -> SlackMessage:
    """Level 2, in the channel: the deadline was missed twice; ``contacts`` are pulled in."""
    text = f"🚨 Escalation: {overdue_text(step, deadline_at, now, tz)}; its deadline passed twice."
    if contacts:
        text += f" Escalated to {_mentions(contacts)}."
    if owners:
        text += f" cc {_mentions(owners)}"
    section = SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))
    return SlackMessage(text=text, blocks=(section, _buttons(incident, step)))


def build_escalation_dm(
    incident: IncidentSnapshot,
    step: Step,
    *,
    deadline_at: datetime,
    now: datetime,
    tz: ZoneInfo,
) -> SlackMessage:
    """Level 2, to each escalation contact directly."""
    title = truncate(escape(incident.title), TITLE_LIMIT)
    where = channel_link(incident.channel_id) if incident.channel_id else "its channel"
    text = (
        f"🚨 *{incident.key}* {incident.severity.label} {incident.type.label} "
        f"({incident.type.label_zh}) — {title}\n"
        f"{overdue_text(step, deadline_at, now, tz)}; its deadline passed twice, so the "
        f"plan escalates it to you. You were added to {where}."
    )
    return SlackMessage(text=text, blocks=(SectionBlock(text=MarkdownTextObject(text=text)),))


def register_renderers(renderers: SlackRenderers, tz: ZoneInfo) -> None:
    """The Slack renderings of the reminders' message kinds."""

    def reminder(data: Overdue) -> SlackMessage:
        return build_reminder_message(
            data.incident,
            data.step,
            deadline_at=data.deadline_at,
            now=data.now,
            tz=tz,
            owners=data.owners,
        )

    def escalation(data: Overdue) -> SlackMessage:
        return build_escalation_message(
            data.incident,
            data.step,
            deadline_at=data.deadline_at,
            now=data.now,
            tz=tz,
            owners=data.owners,
            contacts=data.contacts,
        )

    def escalation_dm(data: Overdue) -> SlackMessage:
        return build_escalation_dm(
            data.incident, data.step, deadline_at=data.deadline_at, now=data.now, tz=tz
        )

    renderers.register(REMINDER, reminder)
    renderers.register(ESCALATION, escalation)
    renderers.register(ESCALATION_DM, escalation_dm)
