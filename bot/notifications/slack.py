"""``/oor notify`` (and the board's Notify button), and the draft messages' buttons and form.

Like every listener, these acknowledge Slack first and then work in a thread; the person
who clicked gets an ephemeral answer. Changing a draft takes the same permission as any
other change to the incident.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

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
from bot.slack.command_context import CommandContext, StepCommand
from bot.slack.command_parser import ParsedCommand
from bot.slack.command_table import HelpLine, HelpSection, Invocation
from bot.slack.interactions import Accept, Click, FormAnswer, Refuse, Submission
from bot.slack.replies import InIncident
from bot.slack.text import escape, reply_text
from bot.slack.views import SlackMessage

if TYPE_CHECKING:
    from bot.wiring import Wiring

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
        handlers: CommandContext,
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


NOTIFY_WORDS = ("notify", "通知")
NOTIFY_HELP = (
    HelpLine(
        "notify [sms|email|status_page] [zh-CN|en]",
        "5. notify customers 通知客户: draft messages from the templates, approve to send",
        HelpSection.STEPS,
        5,
    ),
    HelpLine(
        "notify done <how>",
        "5. customers were told another way (a call, say): the step is done",
        HelpSection.STEPS,
        5.1,
    ),
)


def register_notify(wiring: Wiring, drafts: DraftService) -> NotifySlack:
    plan = wiring.plan
    ui = NotifySlack(wiring.commands, drafts, plan)
    # The core's Notify board button runs the word "notify" too, so this covers both.
    wiring.add_command(NOTIFY_WORDS, ui.notify_command, help=NOTIFY_HELP)

    # The three draft buttons differ only in what they do with the draft.
    button_work: dict[str, Callable[[int, Invocation], SlackMessage | None]] = {
        APPROVE: lambda draft_id, inv: ui.decide(draft_id, inv.user_id, DraftState.APPROVED),
        DISCARD: lambda draft_id, inv: ui.decide(draft_id, inv.user_id, DraftState.DISCARDED),
        EDIT: ui.open_editor,
    }

    def draft_button_clicked(click: Click) -> SlackMessage | None:
        draft_id = parse_id(click.value)
        if draft_id is None:
            return None
        return button_work[click.action_id](draft_id, click.invocation)

    for action_id in button_work:
        wiring.on_button(action_id, draft_button_clicked, "draft_button")

    def edit_submitted(form: Submission) -> FormAnswer:
        metadata, subject, text = edit_values(form.view)
        try:
            channel = NotifyChannel(metadata["channel"])
            locale = Locale(metadata["locale"])
            draft_id, number = parse_id(str(metadata["draft"])), parse_id(str(metadata["incident"]))
        except (KeyError, ValueError, TypeError):
            draft_id = number = None
        if draft_id is None or number is None:
            log.warning("view_without_draft", callback_id=EDIT_CALLBACK_ID)
            return None  # not a form this version built; nothing to save
        errors = edit_errors(channel, locale, subject, text, sms_signature(plan, channel, locale))
        if errors:
            return Refuse.errors(errors)
        return Accept(
            lambda: ui.save_edit(draft_id, form.user_id, subject, text),
            InIncident(number, form.user_id),
        )

    wiring.on_form(EDIT_CALLBACK_ID, edit_submitted, "draft_edit_form")
    return ui
