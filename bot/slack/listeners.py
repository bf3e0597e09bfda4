"""Bolt listeners: ``/oor``, the board's buttons and the modals.

Each listener acknowledges Slack first (within its 3-second limit, before touching the
database or the Web API) and then runs the handler in a worker thread. Failures are
reported to the person ephemerally and logged — never silently dropped.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.domain import lifecycle
from bot.domain.facts import FactErrors, validate_facts
from bot.domain.lifecycle import CommandRefused
from bot.domain.outside_text import is_blank
from bot.domain.plan import Plan
from bot.domain.types import CauseCategory, Severity, parse_id
from bot.slack.command_handlers import CommandHandlers, Invocation
from bot.slack.command_parser import ParsedCommand, parse_command
from bot.slack.declare import DeclareFlow, parse_oor_type
from bot.slack.gateway import SlackGateway
from bot.slack.replies import post_ephemeral, respond_ephemeral, run_in_thread
from bot.slack.text import reply_text
from bot.slack.views import SlackMessage, metadata_number
from bot.slack.views.declare_modal import DECLARE_CALLBACK_ID, declare_values
from bot.slack.views.help import help_message
from bot.slack.views.record_modal import RECORD_CALLBACK_ID, record_errors_response, record_values
from bot.slack.views.resolve_modal import RESOLVE_CALLBACK_ID, resolve_values

log = structlog.get_logger(__name__)

BOARD_BUTTON = re.compile(r"^board_(ack|record|resolve|notify|review)$")


def register_listeners(
    bolt: AsyncApp,
    handlers: CommandHandlers,
    declare: DeclareFlow,
    gateway: SlackGateway,
    plan: Plan,
) -> None:
    @bolt.command("/oor")
    async def oor_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = str(command.get("text") or "")
        parsed = parse_command(text)
        if parsed is None or parsed.word == "help":
            prefix = f"`{text.split()[0]}` is not an `/oor` command.\n\n" if parsed is None else ""
            help_args = help_message().as_args()
            await ack(
                response_type="ephemeral",
                text=prefix + help_args["text"],
                blocks=help_args.get("blocks"),
            )
            return
        await ack()
        inv = Invocation(command["user_id"], command["channel_id"], command.get("trigger_id"))
        await respond_ephemeral(respond, await run_in_thread(lambda: handlers.handle(parsed, inv)))

    @bolt.action(BOARD_BUTTON)
    async def board_button(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        word = str(action["action_id"]).removeprefix("board_")
        inv = Invocation(
            body["user"]["id"],
            (body.get("channel") or {}).get("id", ""),
            body.get("trigger_id"),
            incident_number=parse_id(str(action.get("value", ""))),
        )
        parsed = ParsedCommand(word, "", word)
        await respond_ephemeral(respond, await run_in_thread(lambda: handlers.handle(parsed, inv)))

    def _post_ephemeral(channel_id: str | None, user_id: str, message: SlackMessage | None) -> None:
        post_ephemeral(gateway, channel_id, user_id, message)

    def _after_modal(number: int, user_id: str, command: Any) -> None:
        incident = handlers.incident_by_number(number)
        inv = Invocation(user_id, incident.channel_id or "", None, incident_number=number)
        try:
            message: SlackMessage | None = handlers.apply(incident, inv, command)
        except CommandRefused as refused:
            message = SlackMessage(text=reply_text(refused.said))
        _post_ephemeral(incident.channel_id, user_id, message)

    @bolt.view(RECORD_CALLBACK_ID)
    async def record_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        number = metadata_number(view)
        if number is None:
            await ack()
            log.warning("view_without_incident", callback_id=RECORD_CALLBACK_ID)
            return
        values = record_values(view["state"]["values"])
        try:
            facts = validate_facts(values, plan.tz)
        except FactErrors as errors:
            await ack(**record_errors_response(errors.errors))
            return
        if facts.is_empty():
            await ack(**record_errors_response({"occurred_at": "Fill in at least one field."}))
            return
        await ack()
        user = body["user"]["id"]
        await run_in_thread(
            lambda: _after_modal(number, user, lambda s, a, t: lifecycle.record(s, a, t, facts))
        )

    @bolt.view(RESOLVE_CALLBACK_ID)
    async def resolve_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        number = metadata_number(view)
        if number is None:
            await ack()
            log.warning("view_without_incident", callback_id=RESOLVE_CALLBACK_ID)
            return
        summary, cause_value = resolve_values(view["state"]["values"])
        if not summary or not summary.strip():
            await ack(response_action="errors", errors={"summary": "Say what fixed it."})
            return
        await ack()
        cause = CauseCategory(cause_value) if cause_value else CauseCategory.OTHER
        user = body["user"]["id"]
        await run_in_thread(
            lambda: _after_modal(
                number, user, lambda s, a, t: lifecycle.resolve(s, a, t, summary, cause)
            )
        )

    @bolt.view(DECLARE_CALLBACK_ID)
    async def declare_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = declare_values(view["state"]["values"])
        errors = {}
        if not values.get("type"):
            errors["type"] = "Choose the OOR type."
        if is_blank(values.get("title")):
            errors["title"] = "Give the incident a title."
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        user = body["user"]["id"]
        channel = view.get("private_metadata") or None

        def work() -> SlackMessage:
            text = declare.declare(
                oor_type=parse_oor_type(str(values["type"])),
                title=str(values["title"]),
                user_id=user,
                dedup_key=f"view:{view['id']}",
                severity=Severity(str(values["severity"])) if values.get("severity") else None,
                description=values.get("description"),
            )
            return SlackMessage(text=text)

        _post_ephemeral(channel, user, await run_in_thread(work))
