"""Handlers for chat.* and pins.*: messages, edits, ephemerals, permalinks and pins."""

from __future__ import annotations

import copy
from typing import Any

from bot.sandbox.emulator.args import Args
from bot.sandbox.emulator.state import JSON, SlackError, Workspace, public_message

TEXT_MAX = 40_000
BLOCKS_MAX = 50
SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
ATTACHMENTS_MAX = 100


def _invalid_blocks(reason: str) -> SlackError:
    return SlackError("invalid_blocks", errors=[reason], response_metadata={"messages": [reason]})


def validate_blocks(blocks: Any, max_blocks: int = BLOCKS_MAX) -> list[JSON] | None:
    """Check the Block Kit limits the bot is most likely to hit; returns the parsed blocks."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise _invalid_blocks("blocks must be a list of objects")
    if len(blocks) > max_blocks:
        raise _invalid_blocks(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        if not isinstance(block.get("type"), str) or not block["type"]:
            raise _invalid_blocks(f"missing required field: type [json-pointer:/blocks/{i}]")
        text = block.get("text")
        text_value = text.get("text", "") if isinstance(text, dict) else ""
        if block["type"] == "section" and len(text_value) > SECTION_TEXT_MAX:
            raise _invalid_blocks(f"must be less than 3001 characters [json-pointer:/blocks/{i}]")
        if block["type"] == "header" and len(text_value) > HEADER_TEXT_MAX:
            raise _invalid_blocks(f"must be less than 151 characters [json-pointer:/blocks/{i}]")
    return blocks


def _content(args: Args) -> tuple[str, list[JSON] | None, list[JSON] | None]:
    """Text, blocks and attachments of a message, validated like Slack does."""
    text = args.get_str("text") or ""
    blocks = validate_blocks(args.get_json("blocks", "invalid_blocks"))
    attachments = args.get_json("attachments", "invalid_attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if len(attachments) > ATTACHMENTS_MAX:
            raise SlackError("too_many_attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    if len(text) > TEXT_MAX:
        raise SlackError("msg_too_long")
    return text, blocks, attachments


def _metadata(args: Args) -> JSON | None:
    metadata = args.get_json("metadata", "invalid_metadata_format")
    if metadata is None:
        return None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_format")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


def add_message(ws: Workspace, channel_id: str, text: str, **fields: Any) -> JSON:
    """Append a bot message to a channel, maintaining thread bookkeeping on the parent."""
    ts = ws.next_ts()
    message: JSON = {
        "type": "message",
        "ts": ts,
        "user": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "team": ws.team_id,
        "text": text,
        "blocks": None,
        "metadata": None,
        "thread_ts": None,
        "edit_history": [],
    }
    message.update({k: v for k, v in fields.items() if v is not None})
    thread_ts = message.get("thread_ts")
    if thread_ts:
        parent = ws.message(channel_id, thread_ts)
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        parent["reply_users"] = sorted({*parent.get("reply_users", []), message["user"]})
        parent["reply_users_count"] = len(parent["reply_users"])
        parent["latest_reply"] = ts
    ws.messages[channel_id].append(message)
    return message


def thread_parent(ws: Workspace, channel_id: str, thread_ts: str | None) -> str | None:
    """Slack posts a reply to an unknown parent as a plain channel message; so do we."""
    if not thread_ts:
        return None
    try:
        parent = ws.message(channel_id, thread_ts)
    except SlackError:
        return None
    return str(parent.get("thread_ts") or parent["ts"])


def chat_post_message(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"), by_name=True)
    if channel["is_archived"]:
        raise SlackError("is_archived")
    if not ws.bot_is_member(channel["id"]):
        raise SlackError("not_in_channel")
    text, blocks, attachments = _content(args)
    metadata = _metadata(args)
    thread_ts = thread_parent(ws, channel["id"], args.get_str("thread_ts"))
    broadcast = bool(thread_ts) and args.get_bool("reply_broadcast")
    message = add_message(
        ws,
        channel["id"],
        text,
        blocks=blocks,
        attachments=attachments,
        metadata=metadata,
        thread_ts=thread_ts,
        subtype="thread_broadcast" if broadcast else None,
    )
    # The post response echoes the metadata the app itself just sent, like Slack.
    return {
        "channel": channel["id"],
        "ts": message["ts"],
        "message": public_message(message, include_metadata=True),
    }


def chat_update(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"), by_name=True)
    message = ws.message(channel["id"], args.get_str("ts"))
    if message.get("bot_id") != ws.bot_id:
        raise SlackError("cant_update_message")
    text, blocks, attachments = _content(args)
    metadata = _metadata(args)
    previous = {k: copy.deepcopy(message.get(k)) for k in ("text", "blocks", "attachments")}
    message["edit_history"].append({**previous, "metadata": copy.deepcopy(message["metadata"])})
    message["text"] = text
    message["blocks"] = blocks
    if attachments is not None:
        message["attachments"] = attachments
    if metadata is not None:
        message["metadata"] = metadata
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.next_ts()}
    message["edit_count"] = len(message["edit_history"])
    return {
        "channel": channel["id"],
        "ts": message["ts"],
        "text": text,
        "message": public_message(message, include_metadata=True),
    }


def chat_post_ephemeral(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"), by_name=True)
    if channel["is_archived"]:
        raise SlackError("is_archived")
    user = ws.user(args.get_str("user"))
    if not ws.is_member(channel["id"], user["id"]):
        raise SlackError("user_not_in_channel")
    text, blocks, attachments = _content(args)
    ephemeral = {
        "type": "message",
        "ts": ws.next_ts(),
        "user": user["id"],
        "from_user": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "text": text,
        "blocks": blocks,
        "attachments": attachments,
        "thread_ts": args.get_str("thread_ts"),
        "source": "chat.postEphemeral",
    }
    ws.ephemerals[channel["id"]].append(ephemeral)
    return {"message_ts": ephemeral["ts"]}


def chat_get_permalink(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"))
    message = ws.message(channel["id"], args.get_str("message_ts"))
    digits = message["ts"].replace(".", "")
    link = f"https://{ws.team_domain}.slack.com/archives/{channel['id']}/p{digits}"
    if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
        link += f"?thread_ts={message['thread_ts']}&cid={channel['id']}"
    return {"channel": channel["id"], "permalink": link}


def pins_add(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"))
    ts = args.get_str("timestamp")
    if not ts:
        raise SlackError("no_item_specified")
    message = ws.message(channel["id"], ts)
    pins = ws.pins[channel["id"]]
    if any(p["ts"] == ts for p in pins):
        raise SlackError("already_pinned")
    pins.append({"ts": ts, "created": ws.now(), "created_by": ws.bot_user_id})
    message["pinned_to"] = [channel["id"]]
    return {}


def pins_list(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel"))
    items = []
    for pin in ws.pins[channel["id"]]:
        message = public_message(ws.message(channel["id"], pin["ts"]), include_metadata=False)
        items.append(
            {
                "type": "message",
                "channel": channel["id"],
                "created": pin["created"],
                "created_by": pin["created_by"],
                "message": message,
            }
        )
    return {"items": items}
