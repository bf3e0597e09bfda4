"""Step 6 in Slack: ``/oor review`` (and the board's Review button), the review form, the
Publish button and ``/oor actions``.

As everywhere in the bot, the Wiring's buttons and forms acknowledge Slack first and do
the work in a thread; replies are ephemeral (``chat.postEphemeral`` after a modal, the
``response_url`` otherwise). Changing commands are for the incident's responders and
channel members.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

import structlog

from bot.domain import lifecycle
from bot.domain.lifecycle import CommandRefused
from bot.domain.plan import Plan
from bot.domain.types import Step, StepState, incident_key, parse_id, parse_incident_key
from bot.postmortems.model import NewActionItem
from bot.postmortems.service import PostmortemService
from bot.postmortems.views import (
    PUBLISH_ACTION_ID,
    REVIEW_CALLBACK_ID,
    build_action_items_message,
    build_review_modal,
    parse_publish_value,
    review_values,
)
from bot.slack.command_context import CommandContext, reply
from bot.slack.command_parser import ParsedCommand, mentioned_users, to_plain
from bot.slack.command_table import HelpLine, HelpSection, Invocation
from bot.slack.interactions import Accept, Click, FormAnswer, Refuse, Submission
from bot.slack.replies import InIncident
from bot.slack.text import MENTION
from bot.slack.views import SlackMessage, metadata_number

if TYPE_CHECKING:
    from bot.wiring import Wiring

log = structlog.get_logger(__name__)

ACTIONS_USAGE = (
    "`/oor actions` lists action items; in an incident channel: "
    "`/oor actions add <text> [@owner] [YYYY-MM-DD]`, `/oor actions done <n>`."
)
_MENTION = MENTION
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_action_add(raw_args: str) -> NewActionItem:
    """``<text> [@owner] [YYYY-MM-DD]`` as Slack sends it (mentions as ``<@U…>``)."""
    owners = mentioned_users(raw_args)
    words = to_plain(_MENTION.sub(" ", raw_args)).split()
    due: date | None = None
    kept: list[str] = []
    for word in words:
        if _DATE.match(word):
            try:
                due = date.fromisoformat(word)
            except ValueError:
                raise CommandRefused(f"`{word}` is not a date; use YYYY-MM-DD.") from None
            continue
        kept.append(word)
    text = " ".join(kept)
    if not text:
        raise CommandRefused("Say what will be done: " + ACTIONS_USAGE)
    if len(owners) > 1:
        raise CommandRefused("Name one owner per action item.")
    return NewActionItem(text=text, owner=owners[0] if owners else None, due=due)


class PostmortemSlack:
    def __init__(
        self,
        service: PostmortemService,
        commands: CommandContext,
        plan: Plan,
    ) -> None:
        self._service = service
        self._commands = commands
        self._plan = plan

    # -- /oor review ---------------------------------------------------------------------
    def review(self, command: ParsedCommand, inv: Invocation) -> SlackMessage | None:
        incident = self._commands.incident_here(inv, "review")
        note = command.plain_args.strip()
        if note:
            # The quick review of the six-step flow: step 6 done with a note, no document.
            return self._commands.apply(
                incident, inv, lambda s, a, t: lifecycle.mark_reviewed(s, a, t, note)
            )
        self._commands.check_may_change(incident, inv.user_id)
        if incident.step(Step.RESOLVE).state is not StepState.DONE:
            raise CommandRefused(
                f"The review comes after the fix: resolve {incident.key} first (`/oor resolve`)."
            )
        view = build_review_modal(
            incident,
            self._service.notes(incident.number),
            self._service.action_items(incident.number),
        )
        self._commands.open_modal(inv, view.to_dict())
        return None

    def submitted(self, number: int, user: str, view: dict[str, Any]) -> SlackMessage:
        form = review_values(view["state"]["values"])
        incident = self._commands.incident_by_number(number)
        self._commands.check_may_change(incident, user)
        stored = self._service.submit_review(number, user, form.notes, form.items)
        return reply(
            f"Post-mortem v{stored.version} of {incident.key} is compiled; it is being "
            "shared in the channel. Read it, then press *Publish* to complete step 6."
        )

    def publish(
        self, number: int, version: int, user: str, summary: tuple[str, str] | None
    ) -> SlackMessage:
        incident = self._commands.incident_by_number(number)
        self._commands.check_may_change(incident, user)
        return reply(self._service.publish(number, version, user, summary))

    # -- /oor actions --------------------------------------------------------------------
    def actions(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        sub, _, rest = command.args.strip().partition(" ")
        sub = sub.lower()
        if sub == "add":
            incident = self._commands.incident_here(inv, "actions add")
            self._commands.check_may_change(incident, inv.user_id)
            item, added = self._service.add_action(
                incident.number, inv.user_id, parse_action_add(rest)
            )
            if not added:
                return reply(f"{incident.key} already has that as action item {item.number}.")
            return reply(f"Added action item {item.number} to {incident.key}.")
        if sub == "done":
            incident = self._commands.incident_here(inv, "actions done")
            self._commands.check_may_change(incident, inv.user_id)
            which = parse_id(rest.strip().lstrip("#"))
            if which is None:
                raise CommandRefused("Which one? `/oor actions done <n>` (see `/oor actions`).")
            item, changed = self._service.complete_action(incident.number, inv.user_id, which)
            if not changed:
                return reply(f"Action item {item.number} of {incident.key} was already done.")
            return reply(f"Action item {item.number} of {incident.key} is done.")
        number: int | None
        if sub in ("", "list"):
            number = self._number_here(inv)
        else:
            number = parse_incident_key(sub)
            if number is None:
                raise CommandRefused(ACTIONS_USAGE)
            found = self._commands.incident_by_number(number)  # refuses an unknown incident
            if found.private and found.channel_id != inv.channel_id:
                raise CommandRefused(f"{found.key} is a private incident: ask in its channel.")
        if number is not None:
            items = self._service.action_items(number)
            return build_action_items_message(
                f"Action items of {incident_key(number)}", [(None, i) for i in items], "none yet"
            )
        open_items = self._service.open_action_items()
        return build_action_items_message(
            "Open action items",
            [(incident_key(n), i) for n, i in open_items],
            "none — every action item is done",
        )

    def _number_here(self, inv: Invocation) -> int | None:
        """The incident of the channel the command was run in, if it is one."""
        try:
            return self._commands.incident_here(inv, "actions").number
        except CommandRefused:
            return None

    # -- buttons and forms ----------------------------------------------------------------
    def review_submitted(self, form: Submission) -> FormAnswer:
        number = metadata_number(form.view)
        if number is None:
            log.warning("view_without_incident", callback_id=REVIEW_CALLBACK_ID)
            return None
        checked = review_values(form.values)
        if checked.errors:
            return Refuse.errors(checked.errors)
        return Accept(
            lambda: self.submitted(number, form.user_id, form.view),
            InIncident(number, form.user_id),
        )

    def publish_clicked(self, click: Click) -> SlackMessage | None:
        parsed = parse_publish_value(click.value)
        if parsed is None:
            return None
        number, version = parsed
        return self.publish(number, version, click.user_id, click.message)

    def install(self, wiring: Wiring) -> None:
        wiring.add_command(REVIEW_WORDS, self.review, help=REVIEW_HELP)
        wiring.add_command(["actions"], self.actions, help=ACTIONS_HELP)
        wiring.on_form(REVIEW_CALLBACK_ID, self.review_submitted, "review_form")
        wiring.on_button(PUBLISH_ACTION_ID, self.publish_clicked, "publish_button")


REVIEW_WORDS = ("review", "总结", "复盘")
REVIEW_HELP = (
    HelpLine(
        "review",
        "6. review 总结经验: the review form; the post-mortem is compiled to publish",
        HelpSection.STEPS,
        6,
    ),
    HelpLine(
        "review <note>", "6. a quick review without a post-mortem document", HelpSection.STEPS, 6.1
    ),
)
ACTIONS_HELP = (
    HelpLine("actions", "action items: this incident's here, all open ones elsewhere", order=17),
    HelpLine("actions add <text> [@owner] [YYYY-MM-DD]", "add an action item", order=17.1),
    HelpLine("actions done <n>", "close action item n", order=17.2),
)
