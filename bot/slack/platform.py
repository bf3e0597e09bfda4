"""Slack as the bot's chat platform: :class:`bot.chat.port.ChatPlatform` on the gateway.

Every call goes through :class:`SlackGateway` (rate limits, cool-downs, Retry-After, the
outbox outcomes); Slack's own answers that the flow expects (``name_taken``,
``already_in_channel``, ``already_pinned``, ``not_in_channel``, ``is_archived``) are
handled here, so the core never sees a Slack error code. Messages are rendered with the
Block Kit views by :class:`SlackRenderers`, one renderer per message kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import structlog

from bot.chat.port import (
    ChatMessage,
    DisplayNames,
    Once,
    People,
    Room,
    RoomClosed,
    SharedFile,
)
from bot.config import Settings
from bot.domain.plan import ResponderRef
from bot.metrics import Metrics
from bot.slack.channels import ChannelIds, call_joining, find_channel
from bot.slack.directory import Directory
from bot.slack.gateway import SlackCallError, SlackGateway, SlackPermanent, build_web_client
from bot.slack.posting import find_shared_file, post_once
from bot.slack.text import escape, truncate
from bot.slack.views import SlackMessage

log = structlog.get_logger(__name__)

T = TypeVar("T")
Renderer = Callable[[Any], SlackMessage]

INVITE_BATCH = 100  # Slack accepts up to 1000 users per call; smaller batches fail smaller
TOPIC_LIMIT = 250
# bookmarks.add: link has maxLength 2048 (tests/fixtures/slack_methods/methods/bookmarks.add.json).
BOOKMARK_LINK_MAX = 2048


class SlackRenderers:
    """Message kind -> Block Kit. The core registers its kinds, each feature its own."""

    def __init__(self) -> None:
        self._renderers: dict[str, Renderer] = {}
        self._no_unfurl: set[str] = set()

    def register(self, kind: str, renderer: Renderer, *, unfurl_links: bool = True) -> None:
        if kind in self._renderers:
            raise ValueError(f"a Slack renderer for message kind {kind!r} is already registered")
        self._renderers[kind] = renderer
        if not unfurl_links:
            self._no_unfurl.add(kind)

    def render(self, message: ChatMessage) -> SlackMessage:
        renderer = self._renderers.get(message.kind)
        if renderer is None:
            return SlackMessage(text=escape(message.text))  # the fallback is plain text
        return renderer(message.data)

    def post_args(self, message: ChatMessage) -> dict[str, Any]:
        return {"unfurl_links": False} if message.kind in self._no_unfurl else {}


class SlackPlatform:
    def __init__(
        self, gateway: SlackGateway, directory: Directory, renderers: SlackRenderers
    ) -> None:
        self._gateway = gateway
        self._directory = directory
        self.renderers = renderers
        self._channel_ids = ChannelIds(gateway)

    # -- rooms -------------------------------------------------------------------------------
    def open_room(self, name: str, *, private: bool = False) -> Room | None:
        try:
            # is_private=true needs groups:write (channels:manage covers public ones only).
            data = self._gateway.call("conversations.create", name=name, is_private=private)
            return Room(str(data["channel"]["id"]), str(data["channel"]["name"]))
        except SlackCallError as exc:
            if exc.error != "name_taken":
                raise SlackPermanent(exc.method, exc.error) from None
        # Taken: maybe by us, in an attempt that died before recording the channel.
        existing = find_channel(self._gateway, name)
        if (
            existing
            and existing.get("creator") == self.bot_person()
            and not existing.get("is_archived")
            and bool(existing.get("is_private")) == private
        ):
            log.info("incident_channel_adopted", channel=name)
            return Room(str(existing["id"]), str(existing["name"]))
        return None

    def invite(self, room: str, people: Sequence[str]) -> list[tuple[str, str]]:
        failures: list[tuple[str, str]] = []
        users = list(people)
        for start in range(0, len(users), INVITE_BATCH):
            batch = users[start : start + INVITE_BATCH]
            try:
                self._gateway.call("conversations.invite", channel=room, users=batch)
                continue
            except SlackCallError as exc:
                if exc.error == "already_in_channel" and len(batch) == 1:
                    continue
            # Slack refuses the whole batch for one bad user: find out who, one by one.
            for user in batch:
                try:
                    self._gateway.call("conversations.invite", channel=room, users=[user])
                except SlackCallError as exc:
                    if exc.error != "already_in_channel":
                        failures.append((user, exc.error))
        return failures

    def describe(self, room: str, topic: str, purpose: str) -> None:
        self._gateway.call(
            "conversations.setTopic", channel=room, topic=truncate(escape(topic), TOPIC_LIMIT)
        )
        self._gateway.call(
            "conversations.setPurpose", channel=room, purpose=truncate(escape(purpose), TOPIC_LIMIT)
        )

    def bookmark(self, room: str, links: Sequence[tuple[str, str]]) -> None:
        if not links:
            return
        existing = self._gateway.call("bookmarks.list", channel_id=room)
        have = {b.get("link") for b in existing.get("bookmarks", [])}
        for title, url in links:
            if len(url) > BOOKMARK_LINK_MAX:
                continue  # Slack would refuse it; the board says where the full link is
            if url.startswith(("http://", "https://")) and url not in have:
                self._gateway.call(
                    "bookmarks.add", channel_id=room, title=title, type="link", link=url
                )

    def archive(self, room: str) -> None:
        try:
            self._gateway.call("conversations.archive", channel=room)
        except SlackCallError as exc:
            if exc.error == "already_archived":
                return
            if exc.error == "not_in_channel":
                log.warning("archive_skipped_not_in_channel", channel=room)
                return
            raise

    def room_named(self, target: str) -> str:
        return self._channel_ids.resolve(target)

    # -- messages ----------------------------------------------------------------------------
    def post(self, room: str, message: ChatMessage, *, once: Once | None = None) -> str:
        rendered = self.renderers.render(message)
        extra = self.renderers.post_args(message)
        return self._closed_aware(
            room, lambda: post_once(self._gateway, room, rendered, once, **extra)
        )

    def update(self, room: str, message_ref: str, message: ChatMessage) -> None:
        rendered = self.renderers.render(message)
        self._gateway.call("chat.update", channel=room, ts=message_ref, **rendered.as_args())

    def pin(self, room: str, message_ref: str) -> None:
        try:
            self._gateway.call("pins.add", channel=room, timestamp=message_ref)
        except SlackCallError as exc:
            if exc.error != "already_pinned":
                raise

    def direct_message(self, person: str, message: ChatMessage, *, once: Once | None = None) -> str:
        opened = self._gateway.call("conversations.open", users=person)
        dm_channel = str(opened["channel"]["id"])
        return post_once(self._gateway, dm_channel, self.renderers.render(message), once)

    def share_file(self, room: str, file: SharedFile, *, once: Once | None = None) -> str:
        if once is not None and once.maybe_done:
            already = find_shared_file(self._gateway, room, file.filename)
            if already:
                return already
        shared = self._closed_aware(
            room,
            lambda: self._gateway.upload_file(
                channel_id=room,
                content=file.content,
                filename=file.filename,
                title=file.title,
                initial_comment=file.comment,
                alt_txt=file.alt_text,
            ),
        )
        files = shared.get("files") or [{}]
        return str(files[0].get("id", ""))

    def _closed_aware(self, room: str, action: Callable[[], T]) -> T:
        """Run ``action`` in the room, joining it first if the bot is not in it (the plan's
        broadcast and review channels); an archived room is :class:`RoomClosed`."""
        try:
            return call_joining(self._gateway, room, action)
        except SlackCallError as exc:
            if exc.error == "is_archived":
                raise RoomClosed(exc.method, exc.error) from None
            raise

    # -- people ------------------------------------------------------------------------------
    def resolve_people(self, refs: Iterable[ResponderRef]) -> People:
        resolution = self._directory.resolve(refs)
        return People(list(resolution.user_ids), list(resolution.unresolved))

    def person_by_email(self, email: str) -> str | None:
        # users.lookupByEmail (users:read.email), through the directory's cache.
        found = self._directory.resolve([ResponderRef(kind="email", value=email.strip())])
        return found.user_ids[0] if found.user_ids else None

    def bot_person(self) -> str:
        return self._gateway.bot_user_id()

    def room_link(self, room: str) -> str | None:
        # Slack's redirect to a channel: opens the app or the browser, on a phone too.
        return f"https://slack.com/app_redirect?channel={room}"

    def display_name(self, person: str) -> str | None:
        return self._directory.real_name(person)


def slack_display_names(settings: Settings) -> DisplayNames:
    """People's names from the workspace for a command-line run (``incidents show
    --names``): the bot's own directory and its cache, on a client of its own."""
    assert settings.slack_bot_token is not None
    gateway = SlackGateway(
        build_web_client(
            settings.slack_bot_token.get_secret_value(),
            settings.slack_api_url,
            settings.slack_timeout_seconds,
        ),
        Metrics(),
    )
    return DisplayNames(SlackPlatform(gateway, Directory(gateway), SlackRenderers()))
