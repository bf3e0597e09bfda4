"""What a command handler (the core's or a feature's) needs around its own work: the
incident it is about, whether the person may change it, applying a step change and
answering with its reply, and opening a form.

Features get this (through :class:`bot.wiring.Wiring`) rather than the core's command
handlers, the Slack gateway or the Bolt app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change, CommandRefused
from bot.domain.records import Sentence
from bot.domain.types import looks_like_incident_key, parse_incident_key
from bot.incidents.service import IncidentService
from bot.slack.authorizer import Authorizer
from bot.slack.command_parser import ParsedCommand
from bot.slack.command_table import Invocation
from bot.slack.gateway import SlackGateway
from bot.slack.text import reply_text
from bot.slack.views import SlackMessage

StepCommand = Callable[[IncidentSnapshot, str, datetime], Change]


def reply(text: str | Sentence) -> SlackMessage:
    return SlackMessage(text=reply_text(text))


class CommandContext:
    def __init__(
        self, service: IncidentService, authorizer: Authorizer, gateway: SlackGateway
    ) -> None:
        self._service = service
        self._authorizer = authorizer
        self._gateway = gateway

    # -- finding the incident --------------------------------------------------------------
    def incident_by_number(self, number: int) -> IncidentSnapshot:
        incident = self._service.get(number)
        if incident is None:
            raise CommandRefused(f"There is no incident OOR-{number}.")
        return incident

    def incident_here(self, inv: Invocation, word: str) -> IncidentSnapshot:
        if inv.incident_number is not None:
            return self.incident_by_number(inv.incident_number)
        incident = self._service.find_by_channel(inv.channel_id)
        if incident is None:
            raise CommandRefused(
                f"`/oor {word}` works in an incident channel (#oor-…). Run it there, "
                "or `/oor declare <type> <title>` to open an incident."
            )
        return incident

    def incident_for_reading(self, command: ParsedCommand, inv: Invocation) -> IncidentSnapshot:
        """The incident named first in the arguments (``OOR-42``), else this channel's."""
        first = command.args.split()[0] if command.args.strip() else ""
        if looks_like_incident_key(first):
            number = parse_incident_key(first)
            if number is None:  # OOR-0, or past what the id column can hold: none such
                raise CommandRefused(f"There is no incident {first[:24].upper()}.")
            incident = self.incident_by_number(number)
            if incident.private and incident.channel_id != inv.channel_id:
                # Outside its room a private incident shows nothing (bot.domain.privacy).
                raise CommandRefused(
                    f"{incident.key} is a private incident: read it in its own channel."
                )
            return incident
        return self.incident_here(inv, command.word)

    # -- changing it -----------------------------------------------------------------------
    def check_may_change(self, incident: IncidentSnapshot, user_id: str) -> None:
        if not self._authorizer.may_change(incident, user_id):
            raise CommandRefused(
                f"Only {incident.key}'s responders and members of its channel can change it. "
                "Ask the commander to add you to the channel."
            )

    def apply(
        self,
        incident: IncidentSnapshot,
        inv: Invocation,
        command: StepCommand,
    ) -> SlackMessage:
        self.check_may_change(incident, inv.user_id)
        applied = self._service.apply(
            incident.number, inv.user_id, lambda snap, now: command(snap, inv.user_id, now)
        )
        return reply(applied.change.reply)

    def open_modal(self, inv: Invocation, view: dict[str, object]) -> None:
        if not inv.trigger_id:
            raise CommandRefused("Slack did not send a trigger to open the form; try again.")
        self._gateway.call("views.open", trigger_id=inv.trigger_id, view=view)
