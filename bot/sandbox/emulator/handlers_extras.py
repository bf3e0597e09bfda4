"""Handlers for bookmarks.*, views.* and the two-step external file upload (files.*)."""

from __future__ import annotations

import copy
import re
from typing import Any

from bot.sandbox.emulator.args import Args
from bot.sandbox.emulator.handlers_chat import add_message, thread_parent, validate_blocks
from bot.sandbox.emulator.state import JSON, SlackError, Workspace

# Real trigger ids look like "13345224609.738474920.8088930838d88f008e0".
TRIGGER_ID_RE = re.compile(r"^\d+\.\d+\.[0-9a-f]+$")
EMOJI_RE = re.compile(r"^:[a-z0-9_+\-']+:$")
VIEW_BLOCKS_MAX = 100
VIEW_STACK_MAX = 3
VIEW_TYPES = ("modal", "home")


# ---------------------------------------------------------------------------------- bookmarks
def bookmarks_add(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel_id"))
    if args.get_str("type") != "link":
        raise SlackError("invalid_bookmark_type")
    link = args.get_str("link") or ""
    if not link.startswith(("http://", "https://")):
        raise SlackError("invalid_link")
    emoji = args.get_str("emoji")
    if emoji is not None and not EMOJI_RE.match(emoji):
        raise SlackError("invalid_emoji")
    title = args.get_str("title")
    if not title:
        raise SlackError("invalid_arguments")
    bookmarks = ws.bookmarks[channel["id"]]
    bookmark = {
        "id": ws.next_id("Bk", "bookmark"),
        "channel_id": channel["id"],
        "title": title,
        "link": link,
        "emoji": emoji,
        "icon_url": None,
        "type": "link",
        "entity_id": None,
        "date_created": ws.now(),
        "date_updated": 0,
        "rank": chr(ord("a") + min(len(bookmarks), 25)),
        "last_updated_by_user_id": ws.bot_user_id,
        "last_updated_by_team_id": ws.team_id,
        "shortcut_id": None,
        "app_id": None,
    }
    bookmarks.append(bookmark)
    return {"bookmark": copy.deepcopy(bookmark)}


def bookmarks_list(ws: Workspace, args: Args) -> JSON:
    channel = ws.visible_channel(args.get_str("channel_id"))
    return {"bookmarks": copy.deepcopy(ws.bookmarks[channel["id"]])}


# ---------------------------------------------------------------------------------- views
def _trigger(args: Args) -> str:
    trigger_id = args.get_str("trigger_id") or ""
    if not TRIGGER_ID_RE.match(trigger_id):
        raise SlackError("invalid_trigger_id")
    return trigger_id


def _invalid_view(reason: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {reason}"]})


def _view_payload(args: Args) -> JSON:
    view: Any = args.get_json("view", "invalid_arguments")
    if not isinstance(view, dict):
        raise _invalid_view("missing required field: view")
    if view.get("type") not in VIEW_TYPES:
        raise _invalid_view("must be a valid enum value [json-pointer:/view/type]")
    if view["type"] == "modal" and not isinstance(view.get("title"), dict):
        raise _invalid_view("missing required field: title [json-pointer:/view]")
    try:
        validate_blocks(view.get("blocks", []), VIEW_BLOCKS_MAX)
    except SlackError as exc:
        raise _invalid_view(str(exc.extra.get("errors", ["invalid blocks"])[0])) from exc
    return view


def _store_view(ws: Workspace, payload: JSON, **fields: Any) -> JSON:
    view_id = ws.next_id("V", "view")
    view = {
        "id": view_id,
        "team_id": ws.team_id,
        "type": payload["type"],
        "title": payload.get("title"),
        "blocks": payload.get("blocks", []),
        "close": payload.get("close"),
        "submit": payload.get("submit"),
        "private_metadata": payload.get("private_metadata", ""),
        "callback_id": payload.get("callback_id", ""),
        "external_id": payload.get("external_id", ""),
        "state": {"values": {}},
        "hash": ws.next_ts(),
        "clear_on_close": bool(payload.get("clear_on_close", False)),
        "notify_on_close": bool(payload.get("notify_on_close", False)),
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": "A0OORBOT",
        "bot_id": ws.bot_id,
    }
    view.update(fields)
    ws.views.append(view)
    return view


def _check_external_id(ws: Workspace, payload: JSON, own_id: str | None = None) -> None:
    external_id = payload.get("external_id")
    if external_id and any(v["external_id"] == external_id and v["id"] != own_id for v in ws.views):
        raise SlackError("duplicate_external_id")


def views_open(ws: Workspace, args: Args) -> JSON:
    trigger_id = _trigger(args)
    payload = _view_payload(args)
    _check_external_id(ws, payload)
    view = _store_view(ws, payload, trigger_id=trigger_id, opened_via="views.open")
    return {"view": copy.deepcopy(view)}


def views_push(ws: Workspace, args: Args) -> JSON:
    trigger_id = _trigger(args)
    payload = _view_payload(args)
    _check_external_id(ws, payload)
    # Push onto the stack of the most recently opened modal (the emulator has no user sessions).
    roots = [v for v in ws.views if v.get("opened_via") == "views.open"]
    if not roots:
        raise SlackError("invalid_trigger_id")
    root = roots[-1]
    stack = [v for v in ws.views if v["root_view_id"] == root["id"]]
    if len(stack) >= VIEW_STACK_MAX:
        raise SlackError("push_limit_reached")
    view = _store_view(
        ws,
        payload,
        trigger_id=trigger_id,
        opened_via="views.push",
        root_view_id=root["id"],
        previous_view_id=stack[-1]["id"],
    )
    return {"view": copy.deepcopy(view)}


def views_update(ws: Workspace, args: Args) -> JSON:
    view_id = args.get_str("view_id")
    external_id = args.get_str("external_id")
    if not view_id and not external_id:
        raise SlackError("invalid_arguments")
    view = next(
        (
            v
            for v in ws.views
            if (view_id and v["id"] == view_id) or (external_id and v["external_id"] == external_id)
        ),
        None,
    )
    if view is None:
        raise SlackError("not_found")
    expected_hash = args.get_str("hash")
    if expected_hash and expected_hash != view["hash"]:
        raise SlackError("hash_conflict")
    payload = _view_payload(args)
    _check_external_id(ws, payload, own_id=view["id"])
    for key in ("type", "title", "close", "submit"):
        view[key] = payload.get(key)
    view["blocks"] = payload.get("blocks", [])
    view["private_metadata"] = payload.get("private_metadata", "")
    view["callback_id"] = payload.get("callback_id", "")
    view["external_id"] = payload.get("external_id", view["external_id"])
    view["hash"] = ws.next_ts()
    view["update_count"] = view.get("update_count", 0) + 1
    return {"view": copy.deepcopy(view)}


# ---------------------------------------------------------------------------------- files
def files_get_upload_url_external(ws: Workspace, args: Args) -> JSON:
    filename = args.get_str("filename")
    length = args.get_int("length", -1)
    if not filename or length < 0:
        raise SlackError("invalid_arguments")
    file_id = ws.next_id("F", "file")
    ws.files[file_id] = {
        "id": file_id,
        "name": filename,
        "title": filename,
        "length": length,
        "alt_txt": args.get_str("alt_txt"),
        "snippet_type": args.get_str("snippet_type"),
        "created": ws.now(),
        "completed": False,
        "channels": [],
    }
    return {"upload_url": ws.control_url(f"upload/{file_id}"), "file_id": file_id}


def _file_object(ws: Workspace, file: JSON) -> JSON:
    return {
        "id": file["id"],
        "name": file["name"],
        "title": file["title"],
        "size": len(ws.file_bytes.get(file["id"], b"")),
        "user": ws.bot_user_id,
        "created": file["created"],
        "channels": list(file["channels"]),
        "permalink": f"https://{ws.team_domain}.slack.com/files/{ws.bot_user_id}/{file['id']}",
    }


def files_complete_upload_external(ws: Workspace, args: Args) -> JSON:
    entries = args.get_json("files", "invalid_arguments")
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments")
    files: list[JSON] = []
    for entry in entries:
        file = ws.files.get(entry.get("id", "")) if isinstance(entry, dict) else None
        # A file can be completed once, and only after its bytes reached the upload URL.
        if file is None or file["completed"] or file["id"] not in ws.file_bytes:
            raise SlackError("file_not_found")
        files.append(file)
    channel = None
    thread_ts = None
    if args.has("channel_id"):
        channel = ws.visible_channel(args.get_str("channel_id"))
        if not ws.bot_is_member(channel["id"]):
            raise SlackError("not_in_channel")
        thread_ts = thread_parent(ws, channel["id"], args.get_str("thread_ts"))
    for file, entry in zip(files, entries, strict=True):
        file["completed"] = True
        file["title"] = entry.get("title") or file["title"]
        if channel is not None:
            file["channels"].append(channel["id"])
    if channel is not None:
        add_message(
            ws,
            channel["id"],
            args.get_str("initial_comment") or "",
            files=[_file_object(ws, f) for f in files],
            upload=True,
            thread_ts=thread_ts,
        )
    return {"files": [_file_object(ws, f) for f in files]}
