"""Registry of the Web API methods the emulator implements.

Each entry declares the arguments its handler reads, the rule deciding which bot scopes a call
needs from its arguments and target (`bot.sandbox.emulator.scopes`), the method-specific error
codes it can return and its rate-limit tier. The tests check these declarations against Slack's
published spec (tests/fixtures/slack_web_api) and current method docs
(tests/fixtures/slack_methods), so keep them exact.
"""

from __future__ import annotations

from types import MappingProxyType

from bot.sandbox.emulator import handlers_chat as chat
from bot.sandbox.emulator import handlers_conversations as conv
from bot.sandbox.emulator import handlers_directory as directory
from bot.sandbox.emulator import handlers_extras as extras
from bot.sandbox.emulator import socket_mode
from bot.sandbox.emulator.args import MethodSpec
from bot.sandbox.emulator.scopes import (
    HISTORY,
    INVITE,
    MANAGE,
    READ,
    TOPIC,
    Always,
    ByListedTypes,
    ByPrivacy,
    ByRecipients,
    ByTarget,
)

_CONTENT_ERRORS = (
    "no_text",
    "msg_too_long",
    "too_many_attachments",
    "invalid_blocks",
    "invalid_attachments",
)

_SPECS = (
    # tests/fixtures/slack_methods/methods/apps.connections.open.json: an app-level token
    # with connections:write; "missing_args" when no app-level token is given.
    MethodSpec(
        "apps.connections.open",
        socket_mode.apps_connections_open,
        (),
        Always("connections:write"),
        ("missing_args",),
        tier=3,
        token_type="app",
    ),
    MethodSpec("auth.test", directory.auth_test, (), tier=5),
    MethodSpec(
        "users.info",
        directory.users_info,
        ("user",),
        Always("users:read"),
        ("user_not_found",),
        tier=4,
    ),
    MethodSpec(
        "users.list",
        directory.users_list,
        ("limit", "cursor"),
        Always("users:read"),
        ("invalid_cursor",),
        tier=2,
    ),
    MethodSpec(
        "users.lookupByEmail",
        directory.users_lookup_by_email,
        ("email",),
        Always("users:read.email"),
        ("users_not_found",),
        tier=3,
    ),
    MethodSpec(
        "usergroups.list",
        directory.usergroups_list,
        ("include_users", "include_count", "include_disabled"),
        Always("usergroups:read"),
        tier=2,
    ),
    MethodSpec(
        "usergroups.users.list",
        directory.usergroups_users_list,
        ("usergroup", "include_disabled"),
        Always("usergroups:read"),
        ("no_such_subteam",),
        tier=2,
    ),
    MethodSpec(
        "conversations.create",
        conv.conversations_create,
        ("name", "is_private"),
        ByPrivacy(MANAGE),
        ("invalid_name_required", "invalid_name_maxlength", "invalid_name_specials", "name_taken"),
        tier=2,
    ),
    MethodSpec(
        "conversations.list",
        conv.conversations_list,
        ("types", "exclude_archived", "limit", "cursor"),
        ByListedTypes(READ),
        ("invalid_limit", "invalid_cursor", "invalid_types"),
        tier=2,
    ),
    MethodSpec(
        "conversations.info",
        conv.conversations_info,
        ("channel", "include_num_members"),
        ByTarget(READ),
        ("channel_not_found",),
        tier=3,
    ),
    MethodSpec(
        "conversations.members",
        conv.conversations_members,
        ("channel", "limit", "cursor"),
        ByTarget(READ),
        ("channel_not_found", "invalid_limit", "invalid_cursor"),
        tier=4,
    ),
    MethodSpec(
        "conversations.join",
        conv.conversations_join,
        ("channel",),
        Always("channels:join"),  # only public channels can be joined
        ("channel_not_found", "method_not_supported_for_channel_type", "is_archived"),
        tier=3,
    ),
    MethodSpec(
        "conversations.open",
        conv.conversations_open,
        ("channel", "users", "return_im"),
        ByRecipients(MANAGE),
        (
            "channel_not_found",
            "method_not_supported_for_channel_type",
            "users_list_not_supplied",
            "too_many_users",
            "user_not_found",
        ),
        tier=3,
    ),
    MethodSpec(
        "conversations.archive",
        conv.conversations_archive,
        ("channel",),
        ByTarget(MANAGE),
        ("channel_not_found", "already_archived", "cant_archive_general", "not_in_channel"),
        tier=2,
    ),
    MethodSpec(
        "conversations.history",
        conv.conversations_history,
        ("channel", "latest", "oldest", "inclusive", "limit", "cursor", "include_all_metadata"),
        ByTarget(HISTORY),
        (
            "channel_not_found",
            "invalid_ts_latest",
            "invalid_ts_oldest",
            "invalid_limit",
            "invalid_cursor",
        ),
        tier=3,
    ),
    MethodSpec(
        "conversations.invite",
        conv.conversations_invite,
        ("channel", "users", "force"),
        ByTarget(INVITE),
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
        tier=3,
    ),
    MethodSpec(
        "conversations.setTopic",
        conv.conversations_set_topic,
        ("channel", "topic"),
        ByTarget(TOPIC),
        ("channel_not_found", "is_archived", "not_in_channel", "too_long"),
        tier=2,
    ),
    MethodSpec(
        "conversations.setPurpose",
        conv.conversations_set_purpose,
        ("channel", "purpose"),
        ByTarget(TOPIC),
        ("channel_not_found", "is_archived", "not_in_channel", "too_long"),
        tier=2,
    ),
    MethodSpec(
        "chat.postMessage",
        chat.chat_post_message,
        ("channel", "text", "blocks", "attachments", "metadata", "thread_ts", "reply_broadcast"),
        Always("chat:write"),
        (
            "channel_not_found",
            "is_archived",
            "not_in_channel",
            *_CONTENT_ERRORS,
            "invalid_metadata_format",
        ),
        tier=5,
    ),
    MethodSpec(
        "chat.update",
        chat.chat_update,
        ("channel", "ts", "text", "blocks", "attachments", "metadata"),
        Always("chat:write"),
        (
            "channel_not_found",
            "message_not_found",
            "cant_update_message",
            *_CONTENT_ERRORS,
            "invalid_metadata_format",
        ),
        tier=3,
    ),
    MethodSpec(
        "chat.postEphemeral",
        chat.chat_post_ephemeral,
        ("channel", "user", "text", "blocks", "attachments", "thread_ts"),
        Always("chat:write"),
        (
            "channel_not_found",
            "is_archived",
            "user_not_found",
            "user_not_in_channel",
            *_CONTENT_ERRORS,
        ),
        tier=4,
    ),
    MethodSpec(
        "chat.getPermalink",
        chat.chat_get_permalink,
        ("channel", "message_ts"),
        errors=("channel_not_found", "message_not_found"),
        tier=5,
    ),
    MethodSpec(
        "pins.add",
        chat.pins_add,
        ("channel", "timestamp"),
        Always("pins:write"),
        ("channel_not_found", "no_item_specified", "message_not_found", "already_pinned"),
        tier=2,
    ),
    MethodSpec(
        "pins.list",
        chat.pins_list,
        ("channel",),
        Always("pins:read"),
        ("channel_not_found",),
        tier=2,
    ),
    MethodSpec(
        "bookmarks.add",
        extras.bookmarks_add,
        ("channel_id", "title", "type", "link", "emoji"),
        Always("bookmarks:write"),
        (
            "channel_not_found",
            "invalid_bookmark_type",
            "invalid_link",
            "invalid_emoji",
            "invalid_arguments",
        ),
        tier=2,
    ),
    MethodSpec(
        "bookmarks.list",
        extras.bookmarks_list,
        ("channel_id",),
        Always("bookmarks:read"),
        ("channel_not_found",),
        tier=3,
    ),
    MethodSpec(
        "views.open",
        extras.views_open,
        ("trigger_id", "view"),
        errors=("invalid_trigger_id", "invalid_arguments", "duplicate_external_id"),
        tier=4,
    ),
    MethodSpec(
        "views.push",
        extras.views_push,
        ("trigger_id", "view"),
        errors=(
            "invalid_trigger_id",
            "invalid_arguments",
            "duplicate_external_id",
            "push_limit_reached",
        ),
        tier=4,
    ),
    MethodSpec(
        "views.update",
        extras.views_update,
        ("view_id", "external_id", "view", "hash"),
        errors=("invalid_arguments", "not_found", "hash_conflict", "duplicate_external_id"),
        tier=4,
    ),
    MethodSpec(
        "files.getUploadURLExternal",
        extras.files_get_upload_url_external,
        ("filename", "length", "alt_txt", "snippet_type"),
        Always("files:write"),
        ("invalid_arguments",),
        tier=4,
    ),
    MethodSpec(
        "files.completeUploadExternal",
        extras.files_complete_upload_external,
        ("files", "channel_id", "initial_comment", "thread_ts"),
        Always("files:write"),
        ("invalid_arguments", "file_not_found", "channel_not_found", "not_in_channel"),
        tier=4,
    ),
)

#: Method name -> declaration. Read-only: the registry is shared by every `Emulator`.
METHODS: MappingProxyType[str, MethodSpec] = MappingProxyType({s.name: s for s in _SPECS})

#: Every bot scope some implemented method can need; the default grant of an `Emulator`'s bot
#: token.
ALL_SCOPES: frozenset[str] = frozenset(
    scope for s in _SPECS if s.token_type == "bot" for scope in s.scopes.scopes()
)
#: Every app-level scope some implemented method needs; the default grant of its app token.
ALL_APP_SCOPES: frozenset[str] = frozenset(
    scope for s in _SPECS if s.token_type == "app" for scope in s.scopes.scopes()
)
