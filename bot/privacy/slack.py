"""``/oor private`` and ``/oor public [confirm]`` in Slack.

Both work only in the incident's own channel, for those who may change it (the same
refusals as every incident-changing command). Going public is deliberate: ``/oor public``
alone explains what it does and asks for ``/oor public confirm``.
"""

from __future__ import annotations

from bot.domain.lifecycle import CommandRefused
from bot.privacy.service import PrivacyService
from bot.slack.command_context import CommandContext, reply
from bot.slack.command_parser import ParsedCommand
from bot.slack.command_table import HelpLine, Invocation
from bot.slack.views import SlackMessage
from bot.wiring import Wiring

CONFIRM_WORD = "confirm"
PRIVATE_HELP = (
    HelpLine(
        "private",
        "make the incident private: a private channel for its responders, this one archived",
        order=17,
    ),
)
PUBLIC_HELP = (
    HelpLine(
        "public confirm",
        "make a private incident public again (a new public channel; asks to confirm)",
        order=17.1,
    ),
)


class PrivacyCommands:
    def __init__(self, service: PrivacyService, context: CommandContext) -> None:
        self._service = service
        self._context = context

    def private(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        incident = self._context.incident_here(inv, "private")
        self._context.check_may_change(incident, inv.user_id)
        return reply(self._service.change(incident.number, inv.user_id, private=True))

    def public(self, command: ParsedCommand, inv: Invocation) -> SlackMessage:
        incident = self._context.incident_here(inv, "public")
        self._context.check_may_change(incident, inv.user_id)
        if not incident.private:
            return reply(f"{incident.key} is already public.")
        words = command.plain_args.strip().lower().split()
        if words != [CONFIRM_WORD]:
            if words:
                raise CommandRefused("Use `/oor public confirm` (nothing else after it).")
            return reply(
                f"Making {incident.key} public opens a new public channel that anyone in the "
                "workspace can find and read, with its title, facts and board; this private "
                "channel is archived. If that is what you want: `/oor public confirm`."
            )
        return reply(self._service.change(incident.number, inv.user_id, private=False))

    def install(self, wiring: Wiring) -> None:
        wiring.add_command(["private", "私密"], self.private, help=PRIVATE_HELP)
        wiring.add_command(["public", "公开"], self.public, help=PUBLIC_HELP)
