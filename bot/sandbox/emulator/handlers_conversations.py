"""Handlers for conversations.*: channel lifecycle, membership, topic/purpose and history."""

from __future__ import annotations

from collections.abc import Iterable

from bot.sandbox.emulator.args import Args
from bot.sandbox.emulator.state import (
    JSON,
    SlackError,
    Workspace,
    channel_name_error,
    paginate,
    public_message,
)

TOPIC_MAX = 250
INVITE_MAX = 1000
PAGE_MAX = 1000
DM_USERS_MAX = 8  # a group DM holds at most 8 people besides the bot
CONVERSATION_TYPES = frozenset({"public_channel", "private_channel", "mpim", "im"})


def _text_field(value: str, creator: str, now: int) -> JSON:
    """Topic/purpose object; an unset one has an empty creator and last_set 0, as in Slack."""
    return {"value": value, "creator": creator if value else "", "last_set": now if value else 0}


def new_channel(
    ws: Workspace,
    name: str,
    *,
    creator: str,
    is_private: bool,
    members: Iterable[str] = (),
    topic: str = "",
    purpose: str = "",
    is_general: bool = False,
) -> JSON:
    """Create a channel after Slack's name checks; shared by the API and `Emulator.add_channel`."""
    error = channel_name_error(name)
    if error:
        raise SlackError(error)
    if any(c["name"] == name for c in ws.channels.values()):  # archived channels count too
        raise SlackError("name_taken")
    now = ws.now()
    channel_id = ws.next_id("C", "channel")
    channel: JSON = {
        "id": channel_id,
        "name": name,
        "name_normalized": name,
        "is_channel": not is_private,
        "is_group": False,
        "is_im": False,
        "is_mpim": False,
        "is_private": is_private,
        "created": now,
        "updated": now * 1000,
        "is_archived": False,
        "is_general": is_general,
        "unlinked": 0,
        "creator": creator,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "context_team_id": ws.team_id,
        "previous_names": [],
        "topic": _text_field(topic, creator, now),
        "purpose": _text_field(purpose, creator, now),
    }
    ws.channels[channel_id] = channel
    ws.members[channel_id] = dict.fromkeys([creator, *members])
    ws.messages[channel_id] = []
    ws.ephemerals[channel_id] = []
    ws.pins[channel_id] = []
    ws.bookmarks[channel_id] = []
    return channel


def _page_limit(args: Args, default: int) -> int:
    limit = args.get_int("limit", default, error="invalid_limit")
    if limit < 1 or limit > PAGE_MAX:
        raise SlackError("invalid_limit")
    return limit


def _writable_channel(ws: Workspace, args: Args) -> JSON:
    """A channel the bot may change: it must exist, be live and have the bot as a member."""
    channel = ws.visible_channel(args.get_str("channel"))
    if channel["is_archived"]:
        raise SlackError("is_archived")
    if not ws.bot_is_member(channel["id"]):
        raise SlackError("not_in_channel")
    return channel


def conversations_create(ws: Workspace, args: Args) -> JSON:
    channel = new_channel(
        ws,
        args.get_str("name") or "",
        creator=ws.bot_user_id,
        is_private=args.get_bool("is_private"),
    )
    return {"channel": ws.channel_view(channel)}


def conversations_list(ws: Workspace, args: Args) -> JSON:
    types = set(args.get_list("types") or ["public_channel"])
    if not types <= CONVERSATION_TYPES:
        raise SlackError("invalid_types")
    exclude_archived = args.get_bool("exclude_archived")
    selected = []
    for channel in ws.channels.values():
        if channel.get("is_im") or channel.get("is_mpim"):
            continue  # types im / mpim are not emulated in listings
        kind = "private_channel" if channel["is_private"] else "public_channel"
        if kind not in types or (exclude_archived and channel["is_archived"]):
            continue
        if channel["is_private"] and not ws.bot_is_member(channel["id"]):
            continue
        selected.append(channel)
    page, next_cursor = paginate(
        "channels", selected, _page_limit(args, 100), args.get_str("cursor")
    )
    return {
        "channels": [ws.channel_view(c, num_members=True) for c in page],
        "response_metadata": {"next_cursor": next_cursor},
    }


def conversations_info(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"))
    return {"channel": ws.channel_view(channel, num_members=args.get_bool("include_num_members"))}


def conversations_members(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"))
    members = list(ws.members[channel["id"]])
    page, next_cursor = paginate("members", members, _page_limit(args, 100), args.get_str("cursor"))
    return {"members": page, "response_metadata": {"next_cursor": next_cursor}}


def conversations_open(ws: Workspace, args: Args) -> JSON:
    """Open (or find) the bot's direct message with one user, or a group DM with several."""
    channel_ref = args.get_str("channel")
    users = list(dict.fromkeys(args.get_list("users")))
    if channel_ref is not None and not users:
        existing = ws.visible_channel(channel_ref)
        if not (existing.get("is_im") or existing.get("is_mpim")):
            raise SlackError("method_not_supported_for_channel_type")
        return _opened(existing, already_open=True, full=args.get_bool("return_im"))
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > DM_USERS_MAX:
        raise SlackError("too_many_users")
    for user_id in users:
        ws.user(user_id)  # user_not_found
    people = sorted(set(users) - {ws.bot_user_id}) or [ws.bot_user_id]
    is_im = len(people) == 1
    wanted = {ws.bot_user_id, *people}
    for existing in ws.channels.values():
        if (existing.get("is_im") or existing.get("is_mpim")) and set(
            ws.members[existing["id"]]
        ) == wanted:
            return _opened(existing, already_open=True, full=args.get_bool("return_im"))
    now = ws.now()
    channel_id = ws.next_id("D" if is_im else "G", "channel")
    channel: JSON = {
        "id": channel_id,
        "name": "" if is_im else "mpdm-" + "--".join(people),
        "is_channel": False,
        "is_group": False,
        "is_im": is_im,
        "is_mpim": not is_im,
        "is_private": True,
        "is_open": True,
        "created": now,
        "is_archived": False,
        "is_general": False,
        "creator": ws.bot_user_id,
        "context_team_id": ws.team_id,
    }
    if is_im:
        channel["user"] = people[0]
    ws.channels[channel_id] = channel
    ws.members[channel_id] = dict.fromkeys([ws.bot_user_id, *people])
    ws.messages[channel_id] = []
    ws.ephemerals[channel_id] = []
    ws.pins[channel_id] = []
    ws.bookmarks[channel_id] = []
    return _opened(channel, already_open=False, full=args.get_bool("return_im"))


def _opened(channel: JSON, *, already_open: bool, full: bool) -> JSON:
    """Slack answers with just the id unless ``return_im`` asks for the whole channel."""
    result: JSON = {"channel": dict(channel) if full else {"id": channel["id"]}}
    if already_open:
        result["already_open"] = True
        result["no_op"] = True
    return result


def conversations_join(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"))
    if channel["is_private"]:
        raise SlackError("method_not_supported_for_channel_type")
    if channel["is_archived"]:
        raise SlackError("is_archived")
    if ws.bot_is_member(channel["id"]):
        # Slack answers ok with a warning rather than an error for a redundant join.
        return {
            "channel": ws.channel_view(channel),
            "warning": "already_in_channel",
            "response_metadata": {"warnings": ["already_in_channel"]},
        }
    ws.members[channel["id"]][ws.bot_user_id] = None
    return {"channel": ws.channel_view(channel)}


def conversations_archive(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"))
    if channel["is_archived"]:
        raise SlackError("already_archived")
    if channel["is_general"]:
        raise SlackError("cant_archive_general")
    if not ws.bot_is_member(channel["id"]):
        raise SlackError("not_in_channel")
    channel["is_archived"] = True
    channel["updated"] = ws.now() * 1000
    return {}


def conversations_invite(ws: Workspace, args: Args) -> JSON:
    channel = _writable_channel(ws, args)
    user_ids = list(dict.fromkeys(args.get_list("users")))
    if not user_ids:
        raise SlackError("no_user")
    if len(user_ids) > INVITE_MAX:
        raise SlackError("too_many_users")
    members = ws.members[channel["id"]]
    errors: list[JSON] = []
    valid: list[str] = []
    for user_id in user_ids:
        if user_id not in ws.users:
            code = "user_not_found"
        elif user_id == ws.bot_user_id:
            code = "cant_invite_self"
        elif user_id in members:
            code = "already_in_channel"
        else:
            valid.append(user_id)
            continue
        errors.append({"user": user_id, "ok": False, "error": code})
    # Without `force`, Slack invites nobody when any user fails and reports every failure.
    if errors and not (args.get_bool("force") and valid):
        extra = {"errors": errors} if len(user_ids) > 1 else {}
        raise SlackError(errors[0]["error"], **extra)
    for user_id in valid:
        members[user_id] = None
    result: JSON = {"channel": ws.channel_view(channel)}
    if errors:
        result["errors"] = errors
    return result


def _set_text(ws: Workspace, args: Args, field: str) -> JSON:
    channel = _writable_channel(ws, args)
    value = args.get_str(field) or ""
    if len(value) > TOPIC_MAX:
        raise SlackError("too_long")
    channel[field] = {"value": value, "creator": ws.bot_user_id, "last_set": ws.now()}
    return {"channel": ws.channel_view(channel)}


def conversations_set_topic(ws: Workspace, args: Args) -> JSON:
    return _set_text(ws, args, "topic")


def conversations_set_purpose(ws: Workspace, args: Args) -> JSON:
    return _set_text(ws, args, "purpose")


def _ts_bound(args: Args, name: str, error: str) -> float | None:
    raw = args.get_str(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise SlackError(error) from exc


def conversations_history(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"))
    oldest = _ts_bound(args, "oldest", "invalid_ts_oldest")
    latest = _ts_bound(args, "latest", "invalid_ts_latest")
    inclusive = args.get_bool("inclusive")
    include_metadata = args.get_bool("include_all_metadata")

    def in_range(ts: float) -> bool:
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            return False
        return latest is None or ts < latest or (ts == latest and inclusive)

    # History shows top-level messages and thread replies broadcast to the channel, newest first.
    selected = [
        m
        for m in reversed(ws.messages[channel["id"]])
        if (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
        and in_range(float(m["ts"]))
    ]
    limit = _page_limit(args, 100)
    page, next_cursor = paginate("history", selected, limit, args.get_str("cursor"))
    return {
        "messages": [public_message(m, include_metadata=include_metadata) for m in page],
        "has_more": bool(next_cursor),
        "pin_count": len(ws.pins[channel["id"]]),
        "response_metadata": {"next_cursor": next_cursor},
    }
