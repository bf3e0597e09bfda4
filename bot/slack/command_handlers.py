"""What each ``/oor`` command and board button does (runs after the ack, in a thread).

Handlers return the ephemeral reply for the person who asked; Bolt listeners deliver it
through the ``response_url`` (or ``chat.postEphemeral`` after a modal).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.domain import lifecycle
from bot.domain.facts import FactErrors, parse_key_values, validate_facts
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change, CommandRefused
from bot.domain.plan import Plan
from bot.domain.records import Sentence
from bot.domain.types import (
    CauseCategory,
    Role,
    Severity,
    looks_like_incident_key,
    parse_id,
    parse_incident_key,
)
from bot.incidents.service import IncidentService, step_from_word
from bot.slack.authorizer import Authorizer
from bot.slack.command_parser import ParsedCommand, mentioned_users
from bot.slack.declare import DeclareFlow
from bot.slack.gateway import SlackGateway
from bot.slack.text import reply_text
from bot.slack.views import SlackMessage
from bot.slack.views.help import help_message
from bot.slack.views.partners import build_partners_message
from bot.slack.views.record_modal import build_record_modal
from bot.slack.views.resolve_modal import build_resolve_modal
from bot.slack.views.status_board import build_status_board
from bot.slack.views.timeline import build_timeline_message

StepCommand = Callable[[IncidentSnapshot, str, datetime], Change]
_CAUSE = re.compile(r"(?:^|\s)(?:--cause[ =]|cause=)([a-z_]+)")


@dataclass(frozen=True)
class Invocation:
    """Who asked, where, and how Slack lets us open a modal for them."""

    user_id: str
    channel_id: str
    trigger_id: str | None = None
    # Set by board buttons and modals, which name their incident; commands use the channel.
    incident_number: int | None = None


def reply(text: str | Sentence) -> SlackMessage:
    return SlackMessage(text=reply_text(text))


class CommandHandlers:
    def __init__(
        self,
        service: IncidentService,
        declare: DeclareFlow,
        authorizer: Authorizer,
        gateway: SlackGateway,
        plan: Plan,
    ) -> None:
        self._service = service
        self._declare = declare
        self._authorizer = authorizer
        self._gateway = gateway
        self._plan = plan
        self._by_word: dict[str, Callable[[ParsedCommand, Invocation], SlackMessage | None]] = {
            "help": lambda _c, _i: help_message(),
            "status": self._status,
            "timeline": self._timeline,
            "partners": self._partners,
            "declare": self._declare_command,
            "record": self._record,
            "resolve": self._resolve,
        }

    def register(
        self, word: str, handler: Callable[[ParsedCommand, Invocation], SlackMessage | None]
    ) -> None:
        """Let a feature own an ``/oor`` word (e.g. ``notify``, ``review``, ``actions``)."""
        self._by_word[word] = handler

    def handle(self, command: ParsedCommand, inv: Invocation) -> SlackMessage | None:
        try:
            special = self._by_word.get(command.word)
            if special is not None:
                return special(command, inv)
            return self._change(command, inv)
        except CommandRefused as refused:
            return reply(refused.said)

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

    def _incident_for_reading(self, command: ParsedCommand, inv: Invocation) -> IncidentSnapshot:
        first = command.args.split()[0] if command.args.strip() else ""
        if looks_like_incident_key(first):
            number = parse_incident_key(first)
            if number is None:  # OOR-0, or past what the id column can hold: none such
                raise CommandRefused(f"There is no incident {first[:24].upper()}.")
            return self.incident_by_number(number)
        return self.incident_here(inv, command.word)

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

    # -- state-changing commands -----------------------------------------------------------
    def _change(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        incident = self.incident_here(inv, command.word)
        args = command.plain_args
        word = command.word
        if word == "ack":
            return self.apply(incident, inv, lifecycle.acknowledge)
        if word == "investigate":
            if args.strip().lower() in ("--done", "done"):
                return self.apply(incident, inv, lifecycle.finish_investigation)
            return self.apply(incident, inv, lambda s, a, t: lifecycle.add_finding(s, a, t, args))
        if word == "notify":
            return self.apply(
                incident, inv, lambda s, a, t: lifecycle.mark_notified(s, a, t, args or None)
            )
        if word == "review":
            return self.apply(
                incident, inv, lambda s, a, t: lifecycle.mark_reviewed(s, a, t, args or None)
            )
        if word == "note":
            return self.apply(incident, inv, lambda s, a, t: lifecycle.add_note(s, a, t, args))
        if word == "reopen":
            return self.apply(incident, inv, lifecycle.reopen)
        if word == "close":
            force = "--force" in args.split()
            return self.apply(incident, inv, lambda s, a, t: lifecycle.close(s, a, t, force))
        if word == "severity":
            severity = _severity(args)
            return self.apply(
                incident, inv, lambda s, a, t: lifecycle.change_severity(s, a, t, severity)
            )
        if word == "assign":
            role, user = _role_and_user(command.args)
            return self.apply(incident, inv, lambda s, a, t: lifecycle.assign(s, a, t, role, user))
        if word == "skip":
            step_word, _, reason = args.partition(" ")
            step = step_from_word(step_word)
            if step is None:
                raise CommandRefused(
                    "Which step? `/oor skip <record|investigate|notify|review> <reason>`."
                )
            return self.apply(incident, inv, lambda s, a, t: lifecycle.skip(s, a, t, step, reason))
        raise CommandRefused(f"`/oor {command.typed}` is not a command. Try `/oor help`.")

    def _record(self, command: ParsedCommand, inv: Invocation) -> SlackMessage | None:
        incident = self.incident_here(inv, "record")
        self.check_may_change(incident, inv.user_id)
        if not command.args:
            self.open_modal(inv, build_record_modal(incident, self._plan.tz).to_dict())
            return None
        try:
            facts = validate_facts(dict(parse_key_values(command.plain_args)), self._plan.tz)
        except FactErrors as errors:
            lines = "\n".join(f"• `{name}`: {message}" for name, message in errors.errors.items())
            raise CommandRefused(f"Nothing recorded; please fix:\n{lines}") from None
        return self.apply(incident, inv, lambda s, a, t: lifecycle.record(s, a, t, facts))

    def _resolve(self, command: ParsedCommand, inv: Invocation) -> SlackMessage | None:
        incident = self.incident_here(inv, "resolve")
        self.check_may_change(incident, inv.user_id)
        text = command.plain_args
        if not text:
            self.open_modal(inv, build_resolve_modal(incident).to_dict())
            return None
        cause = CauseCategory.OTHER
        match = _CAUSE.search(text)
        if match:
            try:
                cause = CauseCategory(match.group(1))
            except ValueError:
                options = ", ".join(c.value for c in CauseCategory)
                raise CommandRefused(
                    f"Unknown cause `{match.group(1)}`; use one of {options}."
                ) from None
            text = _CAUSE.sub(" ", text).strip()
        return self.apply(incident, inv, lambda s, a, t: lifecycle.resolve(s, a, t, text, cause))

    def open_modal(self, inv: Invocation, view: dict[str, object]) -> None:
        if not inv.trigger_id:
            raise CommandRefused("Slack did not send a trigger to open the form; try again.")
        self._gateway.call("views.open", trigger_id=inv.trigger_id, view=view)

    # -- read-only commands ------------------------------------------------------------------
    def _status(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        incident = self._incident_for_reading(command, inv)
        runbook = self._plan.for_type(incident.type).runbook_url
        return build_status_board(
            incident,
            tz=self._plan.tz,
            now=self._service.now(),
            runbook_url=str(runbook) if runbook else None,
            partners=self._plan.partners_for(incident.type, incident.payment_method),
        )

    def _timeline(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        words = command.args.split()
        page = 1
        if words and words[-1].isascii() and words[-1].isdigit():  # a bare number: the page
            page = parse_id(words[-1]) or 1
            words = words[:-1]
        incident = self._incident_for_reading(ParsedCommand(command.word, " ".join(words), ""), inv)
        entries = self._service.timeline(incident.number)
        return build_timeline_message(incident, entries, tz=self._plan.tz, page=page)

    def _partners(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        incident = self._incident_for_reading(command, inv)
        return build_partners_message(
            incident, self._plan.partners_for(incident.type, incident.payment_method)
        )

    def _declare_command(self, command: ParsedCommand, inv: Invocation) -> SlackMessage | None:
        if not command.args:
            self.open_modal(inv, self._declare.modal(inv.channel_id))
            return None
        type_word, _, title = command.plain_args.partition(" ")
        return reply(self._declare.declare_from_text(type_word, title, inv.user_id, inv.trigger_id))


def _severity(text: str) -> Severity:
    value = text.strip().lower()
    if value in {"1", "2", "3", "4"}:
        value = f"sev{value}"
    try:
        return Severity(value)
    except ValueError:
        raise CommandRefused("Give a severity: `/oor severity sev1` (sev1 worst … sev4).") from None


def _role_and_user(raw_args: str) -> tuple[Role, str]:
    role_word = raw_args.split()[0].lower() if raw_args.split() else ""
    users = mentioned_users(raw_args)
    try:
        role = Role(role_word)
    except ValueError:
        raise CommandRefused("Usage: `/oor assign <commander|tech|comms> @person`.") from None
    if len(users) != 1:
        raise CommandRefused("Mention exactly one person: `/oor assign tech @bob`.")
    return role, users[0]
