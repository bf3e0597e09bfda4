"""The core's ``/oor`` words (the steps no feature owns, and the incident's commands) and the
dispatch of every registered word (runs after the ack, in a thread).

Handlers return the ephemeral reply for the person who asked; Bolt listeners deliver it
through the ``response_url`` (or ``chat.postEphemeral`` after a modal). Features register
their own words in the same :class:`~bot.slack.command_table.CommandTable`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.domain import lifecycle
from bot.domain.facts import FactErrors, parse_key_values, validate_facts
from bot.domain.lifecycle import CommandRefused
from bot.domain.plan import Plan
from bot.domain.types import CauseCategory, Role, Severity, parse_id
from bot.incidents.service import IncidentService, step_from_word
from bot.slack.command_context import CommandContext, StepCommand, reply
from bot.slack.command_parser import ParsedCommand, mentioned_users
from bot.slack.command_table import (
    CommandTable,
    HelpLine,
    HelpSection,
    Invocation,
)
from bot.slack.declare import DeclareFlow
from bot.slack.views import SlackMessage
from bot.slack.views.help import help_message
from bot.slack.views.partners import build_partners_message
from bot.slack.views.record_modal import build_record_modal
from bot.slack.views.resolve_modal import build_resolve_modal
from bot.slack.views.status_board import build_status_board
from bot.slack.views.timeline import build_timeline_message

__all__ = ["CommandHandlers", "Invocation"]

_CAUSE = re.compile(r"(?:^|\s)(?:--cause[ =]|cause=)([a-z_]+)")
STEPS, INCIDENT = HelpSection.STEPS, HelpSection.INCIDENT


class CommandHandlers:
    def __init__(
        self,
        context: CommandContext,
        service: IncidentService,
        declare: DeclareFlow,
        plan: Plan,
        table: CommandTable,
    ) -> None:
        self._context = context
        self._service = service
        self._declare = declare
        self._plan = plan
        self.table = table

    def handle(self, command: ParsedCommand, inv: Invocation) -> SlackMessage | None:
        handler = self.table.handler(command.word)
        try:
            if handler is None:
                raise CommandRefused(f"`/oor {command.typed}` is not a command. Try `/oor help`.")
            return handler(command, inv)
        except CommandRefused as refused:
            return reply(refused.said)

    def help(self) -> SlackMessage:
        return help_message(self.table)

    def register(self) -> None:
        """The core's words; the features' come through the Wiring."""
        add = self.table.add
        add(["help", "帮助"], lambda _c, _i: self.help(), [HelpLine("help", "this list", order=99)])
        add(
            ["ack", "acknowledge", "respond", "响应"],
            self._step(lambda _c: lifecycle.acknowledge),
            [
                HelpLine(
                    "ack",
                    "1. rapid response 快速响应: take the incident (commander, if there is none)",
                    STEPS,
                    1,
                )
            ],
        )
        add(
            ["record", "记录"],
            self._record,
            [
                HelpLine(
                    "record [key=value …]",
                    "2. record the problem 记录问题: time, merchant, method, amount… "
                    "(no arguments: a form)",
                    STEPS,
                    2,
                )
            ],
        )
        add(
            ["investigate", "排查"],
            self._step(_investigate),
            [
                HelpLine(
                    "investigate <finding>",
                    "3. investigate 排查问题: add a finding to the timeline",
                    STEPS,
                    3,
                ),
                HelpLine(
                    "investigate --done",
                    "3. investigate: the cause is found, the step is done",
                    STEPS,
                    3.1,
                ),
            ],
        )
        add(
            ["resolve", "解决"],
            self._resolve,
            [
                HelpLine(
                    "resolve <summary>",
                    "4. resolve 解决问题: record the fix and the cause (no summary: a form)",
                    STEPS,
                    4,
                )
            ],
        )
        add(
            ["skip"],
            self._step(_skip),
            [
                HelpLine(
                    "skip <step> <reason>", "skip a step that does not apply, saying why", STEPS, 9
                )
            ],
        )
        add(
            ["status"],
            self._status,
            [
                HelpLine(
                    "status [OOR-n]", "the status board of this (or another) incident", order=10
                )
            ],
        )
        add(
            ["timeline"],
            self._timeline,
            [HelpLine("timeline [page]", "what happened, when and by whom", order=11)],
        )
        add(
            ["partners"],
            self._partners,
            [
                HelpLine(
                    "partners",
                    "the plan's bank, acquirer, channel and merchant contacts",
                    order=12,
                )
            ],
        )
        add(
            ["declare"],
            self._declare_command,
            [
                HelpLine(
                    "declare [--private] <type> <title>",
                    "open an incident by hand (no arguments: a form)",
                    order=13,
                )
            ],
        )
        add(
            ["assign"],
            self._step(_assign),
            [HelpLine("assign <commander|tech|comms> @user", "give someone a role", order=14)],
        )
        add(
            ["severity", "sev"],
            self._step(_severity_change),
            [
                HelpLine(
                    "severity <sev1..sev4>", "change the severity (SEV1 is the worst)", order=15
                )
            ],
        )
        add(
            ["note"],
            self._step(lambda c: lambda s, a, t: lifecycle.add_note(s, a, t, c.plain_args)),
            [HelpLine("note <text>", "add a note to the timeline", order=16)],
        )
        add(
            ["reopen"],
            self._step(lambda _c: lifecycle.reopen),
            [HelpLine("reopen", "reopen a resolved incident", order=18)],
        )
        add(
            ["close"],
            self._step(_close),
            [
                HelpLine(
                    "close [--force]", "close the incident; --force with steps still open", order=19
                )
            ],
        )

    # -- state-changing commands -----------------------------------------------------------
    def _step(
        self, make: Callable[[ParsedCommand], StepCommand]
    ) -> Callable[[ParsedCommand, Invocation], SlackMessage]:
        """A word that applies one lifecycle change to this channel's incident."""

        def handler(command: ParsedCommand, inv: Invocation) -> SlackMessage:
            incident = self._context.incident_here(inv, command.word)
            return self._context.apply(incident, inv, make(command))

        return handler

    def _record(self, command: ParsedCommand, inv: Invocation) -> SlackMessage | None:
        incident = self._context.incident_here(inv, "record")
        self._context.check_may_change(incident, inv.user_id)
        if not command.args:
            self._context.open_modal(inv, build_record_modal(incident, self._plan.tz).to_dict())
            return None
        try:
            facts = validate_facts(dict(parse_key_values(command.plain_args)), self._plan.tz)
        except FactErrors as errors:
            lines = "\n".join(f"• `{name}`: {message}" for name, message in errors.errors.items())
            raise CommandRefused(f"Nothing recorded; please fix:\n{lines}") from None
        return self._context.apply(incident, inv, lambda s, a, t: lifecycle.record(s, a, t, facts))

    def _resolve(self, command: ParsedCommand, inv: Invocation) -> SlackMessage | None:
        incident = self._context.incident_here(inv, "resolve")
        self._context.check_may_change(incident, inv.user_id)
        text = command.plain_args
        if not text:
            self._context.open_modal(inv, build_resolve_modal(incident).to_dict())
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
        return self._context.apply(
            incident, inv, lambda s, a, t: lifecycle.resolve(s, a, t, text, cause)
        )

    # -- read-only commands ------------------------------------------------------------------
    def _status(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        incident = self._context.incident_for_reading(command, inv)
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
        incident = self._context.incident_for_reading(
            ParsedCommand(command.word, " ".join(words), ""), inv
        )
        entries = self._service.timeline(incident.number)
        return build_timeline_message(incident, entries, tz=self._plan.tz, page=page)

    def _partners(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        incident = self._context.incident_for_reading(command, inv)
        return build_partners_message(
            incident, self._plan.partners_for(incident.type, incident.payment_method)
        )

    def _declare_command(self, command: ParsedCommand, inv: Invocation) -> SlackMessage | None:
        if not command.args:
            self._context.open_modal(inv, self._declare.modal(inv.channel_id))
            return None
        type_word, _, title = command.plain_args.partition(" ")
        return reply(self._declare.declare_from_text(type_word, title, inv.user_id, inv.trigger_id))


def _investigate(command: ParsedCommand) -> StepCommand:
    args = command.plain_args
    if args.strip().lower() in ("--done", "done"):
        return lifecycle.finish_investigation
    return lambda s, a, t: lifecycle.add_finding(s, a, t, args)


def _skip(command: ParsedCommand) -> StepCommand:
    step_word, _, reason = command.plain_args.partition(" ")
    step = step_from_word(step_word)
    if step is None:
        raise CommandRefused("Which step? `/oor skip <record|investigate|notify|review> <reason>`.")
    return lambda s, a, t: lifecycle.skip(s, a, t, step, reason)


def _close(command: ParsedCommand) -> StepCommand:
    force = "--force" in command.plain_args.split()
    return lambda s, a, t: lifecycle.close(s, a, t, force)


def _severity_change(command: ParsedCommand) -> StepCommand:
    value = command.plain_args.strip().lower()
    if value in {"1", "2", "3", "4"}:
        value = f"sev{value}"
    try:
        severity = Severity(value)
    except ValueError:
        raise CommandRefused("Give a severity: `/oor severity sev1` (sev1 worst … sev4).") from None
    return lambda s, a, t: lifecycle.change_severity(s, a, t, severity)


def _assign(command: ParsedCommand) -> StepCommand:
    raw_args = command.args
    role_word = raw_args.split()[0].lower() if raw_args.split() else ""
    users = mentioned_users(raw_args)
    try:
        role = Role(role_word)
    except ValueError:
        raise CommandRefused("Usage: `/oor assign <commander|tech|comms> @person`.") from None
    if len(users) != 1:
        raise CommandRefused("Mention exactly one person: `/oor assign tech @bob`.")
    return lambda s, a, t: lifecycle.assign(s, a, t, role, users[0])
