"""Registry of the Web API methods the emulator implements.

Each entry declares the arguments its handler reads, the bot scopes that allow it (any one of
them) and the method-specific error codes it can return. The tests check these declarations
against Slack's published spec (tests/fixtures/slack_web_api), so keep them exact.
"""

from __future__ import annotations

from types import MappingProxyType

from bot.sandbox.emulator import handlers_chat as chat
from bot.sandbox.emulator import handlers_conversations as conv
from bot.sandbox.emulator import handlers_directory as directory
from bot.sandbox.emulator import handlers_extras as extras
from bot.sandbox.emulator import socket_mode
from bot.sandbox.emulator.args import MethodSpec

_CONTENT_ERRORS = (
    "no_text",
    "msg_too_long",
    "too_many_attachments",
    "invalid_blocks",
    "invalid_attachments",
)
_CHANNEL_WRITE = ("channels:manage", "groups:write")
_CHANNEL_READ = ("channels:read", "groups:read")

_SPECS = (
    # tests/fixtures/slack_methods/methods/apps.connections.open.json: an app-level token
    # with connections:write; "missing_args" when no app-level token is given.
    MethodSpec(
        "apps.connections.open",
        socket_mode.apps_connections_open,
        (),
        ("connections:write",),
        ("missing_args",),
        token_type="app",
    ),
    MethodSpec("auth.test", directory.auth_test, ()),
    MethodSpec("users.info", directory.users_info, ("user",), ("users:read",), ("user_not_found",)),
    MethodSpec(
        "users.list",
        directory.users_list,
        ("limit", "cursor"),
        ("users:read",),
        ("invalid_cursor",),
    ),
    MethodSpec(
        "users.lookupByEmail",
        directory.users_lookup_by_email,
        ("email",),
        ("users:read.email",),
        ("users_not_found",),
    ),
    MethodSpec(
        "usergroups.list",
        directory.usergroups_list,
        ("include_users", "include_count", "include_disabled"),
        ("usergroups:read",),
    ),
    MethodSpec(
        "usergroups.users.list",
        directory.usergroups_users_list,
        ("usergroup", "include_disabled"),
        ("usergroups:read",),
        ("no_such_subteam",),
    ),
    MethodSpec(
        "conversations.create",
        conv.conversations_create,
        ("name", "is_private"),
        _CHANNEL_WRITE,
        ("invalid_name_required", "invalid_name_maxlength", "invalid_name_specials", "name_taken"),
    ),
    MethodSpec(
        "conversations.list",
        conv.conversations_list,
        ("types", "exclude_archived", "limit", "cursor"),
        _CHANNEL_READ,
        ("invalid_limit", "invalid_cursor"),
    ),
    MethodSpec(
        "conversations.info",
        conv.conversations_info,
        ("channel", "include_num_members"),
        _CHANNEL_READ,
        ("channel_not_found",),
    ),
    MethodSpec(
        "conversations.members",
        conv.conversations_members,
        ("channel", "limit", "cursor"),
        _CHANNEL_READ,
        ("channel_not_found", "invalid_limit", "invalid_cursor"),
    ),
    MethodSpec(
        "conversations.join",
        conv.conversations_join,
        ("channel",),
        ("channels:join",),
        ("channel_not_found", "method_not_supported_for_channel_type", "is_archived"),
    ),
    MethodSpec(
        "conversations.open",
        conv.conversations_open,
        ("channel", "users", "return_im"),
        ("channels:manage", "groups:write", "im:write", "mpim:write"),
        (
            "channel_not_found",
            "method_not_supported_for_channel_type",
            "users_list_not_supplied",
            "too_many_users",
            "user_not_found",
        ),
    ),
    MethodSpec(
        "conversations.archive",
        conv.conversations_archive,
        ("channel",),
        _CHANNEL_WRITE,
        ("channel_not_found", "already_archived", "cant_archive_general", "not_in_channel"),
    ),
    MethodSpec(
        "conversations.history",
        conv.conversations_history,
        ("channel", "latest", "oldest", "inclusive", "limit", "cursor", "include_all_metadata"),
        ("channels:history", "groups:history"),
        (
            "channel_not_found",
            "invalid_ts_latest",
            "invalid_ts_oldest",
            "invalid_limit",
            "invalid_cursor",
        ),
    ),
    MethodSpec(
        "conversations.invite",
        conv.conversations_invite,
        ("channel", "users", "force"),
        _CHANNEL_WRITE,
        (
            "channel_not_found",
            "is_archived",
            "not_in_channel",
            "no_user",
            "too_many_users",
            "user_not_found",
            "cant_invite_self",
            "already_in_channel",
        ),
    ),
    MethodSpec(
        "conversations.setTopic",
        conv.conversations_set_topic,
        ("channel", "topic"),
        _CHANNEL_WRITE,
        ("channel_not_found", "is_archived", "not_in_channel", "too_long"),
    ),
    MethodSpec(
        "conversations.setPurpose",
        conv.conversations_set_purpose,
        ("channel", "purpose"),
        _CHANNEL_WRITE,
        ("channel_not_found", "is_archived", "not_in_channel", "too_long"),
    ),
    MethodSpec(
        "chat.postMessage",
        chat.chat_post_message,
        ("channel", "text", "blocks", "attachments", "metadata", "thread_ts", "reply_broadcast"),
        ("chat:write",),
        (
            "channel_not_found",
            "is_archived",
            "not_in_channel",
            *_CONTENT_ERRORS,
            "invalid_metadata_format",
        ),
    ),
    MethodSpec(
        "chat.update",
        chat.chat_update,
        ("channel", "ts", "text", "blocks", "attachments", "metadata"),
        ("chat:write",),
        (
            "channel_not_found",
            "message_not_found",
            "cant_update_message",
            *_CONTENT_ERRORS,
            "invalid_metadata_format",
        ),
    ),
    MethodSpec(
        "chat.postEphemeral",
        chat.chat_post_ephemeral,
        ("channel", "user", "text", "blocks", "attachments", "thread_ts"),
        ("chat:write",),
        (
            "channel_not_found",
            "is_archived",
            "user_not_found",
            "user_not_in_channel",
            *_CONTENT_ERRORS,
        ),
    ),
    MethodSpec(
        "chat.getPermalink",
        chat.chat_get_permalink,
        ("channel", "message_ts"),
        (),
        ("channel_not_found", "message_not_found"),
    ),
    MethodSpec(
        "pins.add",
        chat.pins_add,
        ("channel", "timestamp"),
        ("pins:write",),
        ("channel_not_found", "no_item_specified", "message_not_found", "already_pinned"),
    ),
    MethodSpec("pins.list", chat.pins_list, ("channel",), ("pins:read",), ("channel_not_found",)),
    MethodSpec(
        "bookmarks.add",
        extras.bookmarks_add,
        ("channel_id", "title", "type", "link", "emoji"),
        ("bookmarks:write",),
        (
            "channel_not_found",
            "invalid_bookmark_type",
            "invalid_link",
            "invalid_emoji",
            "invalid_arguments",
        ),
    ),
    MethodSpec(
        "bookmarks.list",
        extras.bookmarks_list,
        ("channel_id",),
        ("bookmarks:read",),
        ("channel_not_found",),
    ),
    MethodSpec(
        "views.open",
        extras.views_open,
        ("trigger_id", "view"),
        (),
        ("invalid_trigger_id", "invalid_arguments", "duplicate_external_id"),
    ),
    MethodSpec(
        "views.push",
        extras.views_push,
        ("trigger_id", "view"),
        (),
        ("invalid_trigger_id", "invalid_arguments", "duplicate_external_id", "push_limit_reached"),
    ),
    MethodSpec(
        "views.update",
        extras.views_update,
        ("view_id", "external_id", "view", "hash"),
        (),
        ("invalid_arguments", "not_found", "hash_conflict", "duplicate_external_id"),
    ),
    MethodSpec(
        "files.getUploadURLExternal",
        extras.files_get_upload_url_external,
        ("filename", "length", "alt_txt", "snippet_type"),
        ("files:write",),
        ("invalid_arguments",),
    ),
    MethodSpec(
        "files.completeUploadExternal",
        extras.files_complete_upload_external,
        ("files", "channel_id", "initial_comment", "thread_ts"),
        ("files:write",),
        ("invalid_arguments", "file_not_found", "channel_not_found", "not_in_channel"),
    ),
)

#: Method name -> declaration. Read-only: the registry is shared by every `Emulator`.
METHODS: MappingProxyType[str, MethodSpec] = MappingProxyType({s.name: s for s in _SPECS})

#: Every bot scope some implemented method needs; the default grant of an `Emulator`'s bot token.
ALL_SCOPES: frozenset[str] = frozenset(
    scope for s in _SPECS if s.token_type == "bot" for scope in s.scopes
)
#: Every app-level scope some implemented method needs; the default grant of its app token.
ALL_APP_SCOPES: frozenset[str] = frozenset(
    scope for s in _SPECS if s.token_type == "app" for scope in s.scopes
)
