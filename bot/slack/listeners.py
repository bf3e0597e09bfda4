"""The core's Slack listeners: ``/oor``, the board's buttons and the core's forms.

Each acknowledges Slack first (within its 3-second limit, before touching the database or
the Web API) and then runs the handler in a worker thread, through the one sequence in
:class:`~bot.slack.replies.Replies`. Failures are reported to the person ephemerally and
logged — never silently dropped.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.domain import lifecycle
from bot.domain.facts import FactErrors, validate_facts
from bot.domain.outside_text import is_blank
from bot.domain.plan import Plan
from bot.domain.types import CauseCategory, Severity, parse_id
from bot.slack.command_context import CommandContext, StepCommand
from bot.slack.command_handlers import CommandHandlers
from bot.slack.command_parser import ParsedCommand
from bot.slack.command_table import Invocation
from bot.slack.declare import DeclareFlow, parse_oor_type
from bot.slack.interactions import (
    Accept,
    Click,
    FormAnswer,
    Interactions,
    Refuse,
    Submission,
)
from bot.slack.replies import InChannel, InIncident, Replies, ViaResponseUrl
from bot.slack.views import SlackMessage, metadata_number
from bot.slack.views.declare_modal import (
    DECLARE_CALLBACK_ID,
    PRIVATE_VALUE,
    VISIBILITY_ID,
    declare_values,
)
from bot.slack.views.record_modal import RECORD_CALLBACK_ID, record_errors_response, record_values
from bot.slack.views.resolve_modal import RESOLVE_CALLBACK_ID, resolve_values

log = structlog.get_logger(__name__)

# The board's buttons run the step's word, whoever registered it (the core or a feature).
BOARD_BUTTON = re.compile(r"^board_(ack|record|resolve|notify|review)$")


def register_listeners(
    bolt: AsyncApp,
    interactions: Interactions,
    replies: Replies,
    handlers: CommandHandlers,
    context: CommandContext,
    declare: DeclareFlow,
    plan: Plan,
) -> None:
    @bolt.command("/oor")
    async def oor_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = str(command.get("text") or "")
        parsed = handlers.table.parse(text)
        if parsed is None or parsed.word == "help":
            # Answered in the ack itself: nothing to look up.
            prefix = f"`{text.split()[0]}` is not an `/oor` command.\n\n" if parsed is None else ""
            help_args = handlers.help().as_args()
            await ack(
                response_type="ephemeral",
                text=prefix + help_args["text"],
                blocks=help_args.get("blocks"),
            )
            return
        inv = Invocation(command["user_id"], command["channel_id"], command.get("trigger_id"))
        # A command's ack can carry a message: "busy" needs no request of its own.
        to = ViaResponseUrl(respond.response_url, in_ack=True)
        await replies.acknowledge_then(ack, lambda: handlers.handle(parsed, inv), to, "oor_command")

    def board_button(click: Click) -> SlackMessage | None:
        word = click.action_id.removeprefix("board_")
        inv = Invocation(
            click.user_id,
            click.channel_id,
            click.trigger_id,
            incident_number=parse_id(click.value),
        )
        return handlers.handle(ParsedCommand(word, "", word), inv)

    interactions.on_button(BOARD_BUTTON, board_button, "board_button")

    def after_modal(number: int, user_id: str, command: StepCommand) -> Accept:
        def work() -> SlackMessage:
            incident = context.incident_by_number(number)
            inv = Invocation(user_id, incident.channel_id or "", None, incident_number=number)
            return context.apply(incident, inv, command)

        return Accept(work, InIncident(number, user_id))

    def record_submitted(form: Submission) -> FormAnswer:
        number = metadata_number(form.view)
        if number is None:
            log.warning("view_without_incident", callback_id=RECORD_CALLBACK_ID)
            return None
        try:
            facts = validate_facts(record_values(form.values), plan.tz)
        except FactErrors as errors:
            return Refuse(record_errors_response(errors.errors))
        if facts.is_empty():
            return Refuse(record_errors_response({"occurred_at": "Fill in at least one field."}))
        return after_modal(number, form.user_id, lambda s, a, t: lifecycle.record(s, a, t, facts))

    def resolve_submitted(form: Submission) -> FormAnswer:
        number = metadata_number(form.view)
        if number is None:
            log.warning("view_without_incident", callback_id=RESOLVE_CALLBACK_ID)
            return None
        summary, cause_value = resolve_values(form.values)
        if not summary or not summary.strip():
            return Refuse.errors({"summary": "Say what fixed it."})
        cause = CauseCategory(cause_value) if cause_value else CauseCategory.OTHER
        return after_modal(
            number, form.user_id, lambda s, a, t: lifecycle.resolve(s, a, t, summary, cause)
        )

    def declare_submitted(form: Submission) -> FormAnswer:
        values = declare_values(form.values)
        errors = {}
        if not values.get("type"):
            errors["type"] = "Choose the OOR type."
        if is_blank(values.get("title")):
            errors["title"] = "Give the incident a title."
        if errors:
            return Refuse.errors(errors)
        view_id = form.view["id"]

        def work() -> SlackMessage:
            text = declare.declare(
                oor_type=parse_oor_type(str(values["type"])),
                title=str(values["title"]),
                user_id=form.user_id,
                dedup_key=f"view:{view_id}",
                severity=Severity(str(values["severity"])) if values.get("severity") else None,
                description=values.get("description"),
                private=values.get(VISIBILITY_ID) == PRIVATE_VALUE,
            )
            return SlackMessage(text=text)

        return Accept(work, InChannel(form.view.get("private_metadata") or None, form.user_id))

    interactions.on_form(RECORD_CALLBACK_ID, record_submitted, "record_form")
    interactions.on_form(RESOLVE_CALLBACK_ID, resolve_submitted, "resolve_form")
    interactions.on_form(DECLARE_CALLBACK_ID, declare_submitted, "declare_form")
