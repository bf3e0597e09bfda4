"""``/oor notify`` (and the board's Notify button), and the draft messages' buttons and form.

Like every listener, these acknowledge Slack first and then work in a thread; the person
who clicked gets an ephemeral answer. Changing a draft takes the same permission as any
other change to the incident.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.domain import lifecycle
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import CommandRefused
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.domain.types import parse_id
from bot.notifications.model import Draft, DraftState
from bot.notifications.service import DraftService
from bot.notifications.templates import sms_signature
from bot.notifications.views import (
    APPROVE,
    DISCARD,
    EDIT,
    EDIT_CALLBACK_ID,
    build_edit_modal,
    edit_errors,
    edit_values,
)
from bot.slack.command_handlers import CommandHandlers, Invocation, StepCommand
from bot.slack.command_parser import ParsedCommand
from bot.slack.gateway import SlackGateway
from bot.slack.replies import post_ephemeral_in_incident, respond_ephemeral, run_in_thread
from bot.slack.text import escape, reply_text
from bot.slack.views import SlackMessage

log = structlog.get_logger(__name__)

USAGE = (
    "Usage: `/oor notify [sms|email|status_page] [zh-CN|en]` drafts customer notifications "
    "for approval (no arguments: the plan's channels and languages). If customers were told "
    "another way, `/oor notify done <how>` records it."
)
DONE_WORDS = frozenset({"done", "--done", "完成"})
_CHANNEL_WORDS = {
    "sms": NotifyChannel.SMS,
    "短信": NotifyChannel.SMS,
    "email": NotifyChannel.EMAIL,
    "mail": NotifyChannel.EMAIL,
    "邮件": NotifyChannel.EMAIL,
    "status_page": NotifyChannel.STATUS_PAGE,
    "status-page": NotifyChannel.STATUS_PAGE,
    "statuspage": NotifyChannel.STATUS_PAGE,
    "status": NotifyChannel.STATUS_PAGE,
    "状态页": NotifyChannel.STATUS_PAGE,
}
_LOCALE_WORDS = {
    "zh-cn": Locale.ZH_CN,
    "zh": Locale.ZH_CN,
    "cn": Locale.ZH_CN,
    "中文": Locale.ZH_CN,
    "en": Locale.EN,
    "english": Locale.EN,
    "英文": Locale.EN,
}


def _told_another_way(how: str) -> StepCommand:
    """``/oor notify done <how>``: customers were told outside the bot (a call, the
    merchant's own channel); step 5 is done with that note and nothing is drafted."""
    how = how.strip()
    if not how:
        raise CommandRefused("Say how customers were told: `/oor notify done <how>`.")
    return lambda snap, actor, at: lifecycle.mark_notified(snap, actor, at, how)


def parse_notify_args(text: str) -> tuple[list[NotifyChannel], list[Locale]]:
    """``sms zh-CN`` -> ([sms], [zh-CN]); words may come in any order, commas allowed."""
    channels: list[NotifyChannel] = []
    locales: list[Locale] = []
    for word in text.replace(",", " ").lower().split():
        if word in _CHANNEL_WORDS:
            if _CHANNEL_WORDS[word] not in channels:
                channels.append(_CHANNEL_WORDS[word])
        elif word in _LOCALE_WORDS:
            if _LOCALE_WORDS[word] not in locales:
                locales.append(_LOCALE_WORDS[word])
        else:
            # Refuse rather than guess: a typo must never mark customers as notified.
            raise CommandRefused(
                f"`{escape(word)}` is not a notification channel or language. {USAGE}"
            )
    return channels, locales


class NotifySlack:
    def __init__(
        self,
        handlers: CommandHandlers,
        drafts: DraftService,
        plan: Plan,
    ) -> None:
        self._handlers = handlers
        self._drafts = drafts
        self._plan = plan

    # -- /oor notify ------------------------------------------------------------------------
    def notify_command(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        incident = self._handlers.incident_here(inv, "notify")
        self._handlers.check_may_change(incident, inv.user_id)
        first, _, rest = command.plain_args.strip().partition(" ")
        if first.lower() in DONE_WORDS:
            return self._handlers.apply(incident, inv, _told_another_way(rest))
        channels, locales = parse_notify_args(command.plain_args)
        channels = channels or self._plan.notify_channels(incident.type)
        locales = locales or self._plan.notify_locales(incident.type)
        if not channels or not locales:
            raise CommandRefused("The plan lists no notification channels or languages.")
        result = self._drafts.create(
            incident, inv.user_id, [(c, loc) for c in channels for loc in locales]
        )
        lines = []
        if result.created:
            labels = ", ".join(d.label for d in result.created)
            lines.append(
                f"Drafted {len(result.created)} customer notification"
                f"{'s' if len(result.created) != 1 else ''} for {incident.key}: {labels}. "
                "Review them in the channel, then Approve, Edit or Discard each."
            )
        if result.waiting:
            labels = ", ".join(d.label for d in result.waiting)
            lines.append(f"Already waiting for approval (not drafted again): {labels}.")
        if self._plan.notifications.two_person_approval and result.created:
            lines.append("The plan requires someone other than the author to approve them.")
        return SlackMessage(text="\n".join(lines))

    # -- draft buttons ---------------------------------------------------------------------
    def _draft_and_incident(self, draft_id: int, user_id: str) -> tuple[Draft, IncidentSnapshot]:
        draft = self._drafts.get(draft_id)
        if draft is None:
            raise CommandRefused("That notification draft no longer exists.")
        incident = self._handlers.incident_by_number(draft.incident_number)
        self._handlers.check_may_change(incident, user_id)
        return draft, incident

    def decide(self, draft_id: int, user_id: str, decision: DraftState) -> SlackMessage:
        """Approve or Discard: the same permission, then the service decides."""
        self._draft_and_incident(draft_id, user_id)
        return SlackMessage(text=reply_text(self._drafts.decide(draft_id, user_id, decision).reply))

    def open_editor(self, draft_id: int, inv: Invocation) -> SlackMessage | None:
        draft, incident = self._draft_and_incident(draft_id, inv.user_id)
        if draft.state is not DraftState.DRAFT:
            raise CommandRefused(
                f"The {draft.label} notification was already {draft.state.value}; "
                "it can no longer be edited."
            )
        signature = sms_signature(self._plan, draft.channel, draft.locale)
        view = build_edit_modal(draft, incident_key=incident.key, signature=signature)
        self._handlers.open_modal(inv, view.to_dict())
        return None

    def save_edit(
        self, draft_id: int, user_id: str, subject: str | None, body: str
    ) -> SlackMessage:
        self._draft_and_incident(draft_id, user_id)
        return SlackMessage(
            text=reply_text(self._drafts.edit(draft_id, user_id, subject, body).reply)
        )


def _draft_id(action: dict[str, Any]) -> int | None:
    return parse_id(str(action.get("value", "")))


def register_notify(
    handlers: CommandHandlers,
    bolt: AsyncApp,
    gateway: SlackGateway,
    drafts: DraftService,
    plan: Plan,
) -> NotifySlack:
    ui = NotifySlack(handlers, drafts, plan)
    # The core's Notify board button runs the word "notify" too, so this covers both.
    handlers.register("notify", ui.notify_command)

    def _inv(body: dict[str, Any]) -> Invocation:
        channel = (body.get("channel") or {}).get("id", "")
        return Invocation(body["user"]["id"], channel, body.get("trigger_id"))

    # The three draft buttons differ only in what they do with the draft.
    button_work: dict[str, Callable[[int, Invocation], SlackMessage | None]] = {
        APPROVE: lambda draft_id, inv: ui.decide(draft_id, inv.user_id, DraftState.APPROVED),
        DISCARD: lambda draft_id, inv: ui.decide(draft_id, inv.user_id, DraftState.DISCARDED),
        EDIT: ui.open_editor,
    }

    async def draft_button_clicked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        draft_id, inv = _draft_id(action), _inv(body)
        if draft_id is None:
            return
        work = button_work[str(action["action_id"])]
        await respond_ephemeral(respond, await run_in_thread(lambda: work(draft_id, inv)))

    for action_id in button_work:
        bolt.action(action_id)(draft_button_clicked)

    @bolt.view(EDIT_CALLBACK_ID)
    async def edit_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        metadata, subject, text = edit_values(view)
        try:
            channel = NotifyChannel(metadata["channel"])
            locale = Locale(metadata["locale"])
            draft_id, number = parse_id(str(metadata["draft"])), parse_id(str(metadata["incident"]))
        except (KeyError, ValueError, TypeError):
            draft_id = number = None
        if draft_id is None or number is None:
            await ack()  # not a form this version built; nothing to save
            log.warning("view_without_draft", callback_id=EDIT_CALLBACK_ID)
            return
        errors = edit_errors(channel, locale, subject, text, sms_signature(plan, channel, locale))
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        user = body["user"]["id"]
        message = await run_in_thread(lambda: ui.save_edit(draft_id, user, subject, text))
        await asyncio.to_thread(
            post_ephemeral_in_incident, gateway, handlers, number, user, message
        )

    return ui
