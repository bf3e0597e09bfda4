"""Handlers for auth.*, users.* and usergroups.*: read-only lookups of the workspace directory."""

from __future__ import annotations

import copy

from bot.sandbox.emulator.args import Args
from bot.sandbox.emulator.state import JSON, SlackError, Workspace, paginate


def user_record(
    ws: Workspace,
    user_id: str,
    name: str,
    email: str | None,
    real_name: str,
    *,
    is_bot: bool,
    tz: str = "Europe/Paris",
) -> JSON:
    """A user object shaped like Slack's (the fields the bot and the sandbox page use)."""
    profile: JSON = {
        "real_name": real_name,
        "real_name_normalized": real_name,
        "display_name": name,
        "display_name_normalized": name,
        "team": ws.team_id,
    }
    if email:
        profile["email"] = email
    return {
        "id": user_id,
        "team_id": ws.team_id,
        "name": name,
        "deleted": False,
        "real_name": real_name,
        "tz": tz,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": ws.now(),
    }


def auth_test(ws: Workspace, args: Args) -> JSON:
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.bot_user()["name"],
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def users_info(ws: Workspace, args: Args) -> JSON:
    return {"user": copy.deepcopy(ws.user(args.get_str("user")))}


def users_list(ws: Workspace, args: Args) -> JSON:
    # Slack returns everybody when `limit` is absent or 0 (it recommends paginating anyway).
    limit = args.get_int("limit", 0)
    page, next_cursor = paginate("users", list(ws.users.values()), limit, args.get_str("cursor"))
    return {
        "members": copy.deepcopy(page),
        "cache_ts": ws.now(),
        "response_metadata": {"next_cursor": next_cursor},
    }


def users_lookup_by_email(ws: Workspace, args: Args) -> JSON:
    email = (args.get_str("email") or "").lower()
    for user in ws.users.values():
        if email and user["profile"].get("email", "").lower() == email:
            return {"user": copy.deepcopy(user)}
    raise SlackError("users_not_found")


def _usergroup_view(group: JSON, *, include_users: bool, include_count: bool) -> JSON:
    out = copy.deepcopy(group)
    if not include_users:
        out.pop("users", None)
    if include_count:
        out["user_count"] = len(group["users"])
    return out


def usergroups_list(ws: Workspace, args: Args) -> JSON:
    include_disabled = args.get_bool("include_disabled")
    groups = [
        _usergroup_view(
            g,
            include_users=args.get_bool("include_users"),
            include_count=args.get_bool("include_count"),
        )
        for g in ws.usergroups.values()
        if include_disabled or not g["date_delete"]
    ]
    return {"usergroups": groups}


def usergroups_users_list(ws: Workspace, args: Args) -> JSON:
    group = ws.usergroups.get(args.get_str("usergroup") or "")
    if group is None:
        raise SlackError("no_such_subteam")
    if group["date_delete"] and not args.get_bool("include_disabled"):
        raise SlackError("no_such_subteam")
    return {"users": list(group["users"])}
