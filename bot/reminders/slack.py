"""The reminder message's buttons: Snooze 15 min, Snooze 1 h, Mark done.

Like every button (see :meth:`bot.wiring.Wiring.on_button`), each acknowledges Slack first
and works in a thread; the person who
clicked gets an ephemeral answer. Only those who may change the incident (its channel's
members and the plan's responders) may snooze or complete its steps.

Mark done completes the step through :meth:`IncidentService.apply` with the step's own
lifecycle function; steps that need facts open their form instead (record → the record
modal, resolve → the resolve modal).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from bot.domain import lifecycle
from bot.domain.clock import Clock
from bot.domain.lifecycle import CommandRefused
from bot.domain.plan import Plan
from bot.domain.types import Step
from bot.reminders.snooze import snooze_step
from bot.reminders.views import MARK_DONE, SNOOZE_MINUTES, parse_button_value
from bot.slack.command_context import CommandContext, StepCommand
from bot.slack.command_table import Invocation
from bot.slack.interactions import Click
from bot.slack.text import local_time
from bot.slack.views import SlackMessage
from bot.slack.views.record_modal import build_record_modal
from bot.slack.views.resolve_modal import build_resolve_modal
from bot.storage.db import Database

if TYPE_CHECKING:
    from bot.wiring import Wiring

log = structlog.get_logger(__name__)

REMINDER_BUTTON = re.compile(r"^reminder_(snooze_15|snooze_60|done)$")

# Steps that Mark done completes directly; record and resolve need a form.
DONE_COMMANDS: dict[Step, StepCommand] = {
    Step.RESPOND: lifecycle.acknowledge,
    Step.INVESTIGATE: lifecycle.finish_investigation,
    Step.NOTIFY: lambda s, a, t: lifecycle.mark_notified(s, a, t, None),
    Step.REVIEW: lambda s, a, t: lifecycle.mark_reviewed(s, a, t, None),
}


class ReminderButtons:
    def __init__(
        self,
        db: Database,
        plan: Plan,
        clock: Clock,
        commands: CommandContext,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._plan = plan
        self._clock = clock
        self._commands = commands
        self._on_enqueued = on_enqueued

    def click(self, action_id: str, value: str, inv: Invocation) -> SlackMessage | None:
        """What a click does (runs after the ack); the reply for the person who clicked."""
        parsed = parse_button_value(value)
        if parsed is None:
            raise CommandRefused("That button does not name an incident step; try `/oor status`.")
        number, step = parsed
        incident = self._commands.incident_by_number(number)
        self._commands.check_may_change(incident, inv.user_id)
        inv = Invocation(inv.user_id, inv.channel_id, inv.trigger_id, incident_number=number)
        minutes = SNOOZE_MINUTES.get(action_id)
        if minutes is not None:
            until = snooze_step(
                self._db,
                self._clock,
                self._plan,
                number=number,
                step=step,
                user=inv.user_id,
                minutes=minutes,
                on_enqueued=self._on_enqueued,
            )
            return SlackMessage(
                text=f"Snoozed until {local_time(until, self._plan.tz, with_date=False)}."
            )
        if action_id != MARK_DONE:
            raise CommandRefused("Unknown reminder button.")
        if step is Step.RECORD:
            self._commands.open_modal(inv, build_record_modal(incident, self._plan.tz).to_dict())
            return None
        if step is Step.RESOLVE:
            self._commands.open_modal(inv, build_resolve_modal(incident).to_dict())
            return None
        return self._commands.apply(incident, inv, DONE_COMMANDS[step])


def register_reminder_buttons(wiring: Wiring, buttons: ReminderButtons) -> None:
    def clicked(click: Click) -> SlackMessage | None:
        return buttons.click(click.action_id, click.value, click.invocation)

    wiring.on_button(REMINDER_BUTTON, clicked, "reminder_button")
