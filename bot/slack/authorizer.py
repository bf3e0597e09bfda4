"""Who may change an incident: members of its channel and the plan's responders for its
type (escalation contacts included). Reading is open to everyone."""

from __future__ import annotations

from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Plan
from bot.slack.directory import Directory
from bot.slack.gateway import SlackCallError, SlackGateway


class Authorizer:
    def __init__(self, gateway: SlackGateway, directory: Directory, plan: Plan) -> None:
        self._gateway = gateway
        self._directory = directory
        self._plan = plan

    def may_change(self, incident: IncidentSnapshot, user_id: str) -> bool:
        refs = self._plan.all_responder_refs(incident.type, include_escalation=True)
        if user_id in self._directory.resolve(refs).user_ids:
            return True
        if incident.channel_id is None:
            return False
        return user_id in self._channel_members(incident.channel_id)

    def _channel_members(self, channel_id: str) -> set[str]:
        # Asked live, not cached: someone just added to the channel must be able to act.
        members: set[str] = set()
        cursor: str | None = None
        try:
            while True:
                data = self._gateway.call(
                    "conversations.members", channel=channel_id, limit=1000, cursor=cursor
                )
                members.update(data.get("members", []))
                cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return members
        except SlackCallError:
            return members
