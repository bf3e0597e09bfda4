"""Non-API endpoints Slack hands out URLs for: file upload URLs and slash-command response_urls.

The caller (`Emulator`) holds its lock around these functions.
"""

from __future__ import annotations

import copy

from bot.sandbox.emulator.handlers_chat import add_message
from bot.sandbox.emulator.state import JSON, Workspace

# Slack lets an app use a response_url up to five times (within 30 minutes).
RESPONSE_URL_MAX_USES = 5


def store_upload(ws: Workspace, file_id: str, data: bytes) -> bool:
    """Keep the bytes POSTed to an upload URL; False for unknown or already completed files."""
    file = ws.files.get(file_id)
    if file is None or file["completed"]:
        return False
    ws.file_bytes[file_id] = data
    return True


def post_response(ws: Workspace, token: str, payload: JSON) -> tuple[int, str]:
    """Record a response_url POST and show it in the channel; returns (HTTP status, body)."""
    entry = ws.responses.get(token)
    if entry is None:
        return 404, "no_such_url"
    if len(entry["posts"]) >= RESPONSE_URL_MAX_USES:
        return 404, "used_url"
    response_type = payload.get("response_type") or "ephemeral"
    post = {
        "token": token,
        "channel_id": entry["channel_id"],
        "user_id": entry["user_id"],
        "at": ws.clock(),
        "text": payload.get("text", ""),
        "blocks": payload.get("blocks"),
        "response_type": response_type,
        "replace_original": bool(payload.get("replace_original", False)),
        "delete_original": bool(payload.get("delete_original", False)),
    }
    entry["posts"].append(post)
    ws.response_log.append(copy.deepcopy(post))
    channel_id = entry["channel_id"]
    if channel_id not in ws.channels or post["delete_original"]:
        return 200, "ok"
    if response_type == "in_channel":
        # In-channel responses are posted by the app, even where the bot is not a member.
        add_message(ws, channel_id, post["text"], blocks=post["blocks"])
    else:
        ws.ephemerals[channel_id].append(
            {
                "type": "message",
                "ts": ws.next_ts(),
                "user": entry["user_id"],
                "from_user": ws.bot_user_id,
                "bot_id": ws.bot_id,
                "text": post["text"],
                "blocks": post["blocks"],
                "source": "response_url",
            }
        )
    return 200, "ok"
