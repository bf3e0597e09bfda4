"""What a test (or the sandbox page) may read of an emulated workspace: copies, under the
emulator's lock, never the live state."""

from __future__ import annotations

import copy
import threading

from bot.sandbox.emulator.state import JSON, Call, Workspace


class WorkspaceInspection:
    """Read-only views of the workspace, mixed into :class:`~bot.sandbox.emulator.Emulator`."""

    _lock: threading.RLock
    _calls: list[Call]
    _ws: Workspace

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def channel_by_name(self, name: str) -> JSON | None:
        with self._lock:
            found = next((c for c in self._ws.channels.values() if c["name"] == name), None)
            return None if found is None else self._ws.channel_view(found)

    def user(self, user_id: str) -> JSON | None:
        with self._lock:
            found = self._ws.users.get(user_id)
            return None if found is None else copy.deepcopy(found)

    def channel(self, channel_id: str) -> JSON:
        with self._lock:
            return self._ws.channel_view(self._ws.channels[channel_id])

    def messages(self, channel_id: str) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._ws.messages[channel_id])

    def ephemerals(self, channel_id: str) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._ws.ephemerals[channel_id])

    def members(self, channel_id: str) -> set[str]:
        with self._lock:
            return set(self._ws.members[channel_id])

    def pins(self, channel_id: str) -> list[str]:
        with self._lock:
            return [p["ts"] for p in self._ws.pins[channel_id]]

    def bookmarks(self, channel_id: str) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._ws.bookmarks[channel_id])

    @property
    def views(self) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._ws.views)

    def file(self, file_id: str) -> tuple[JSON, bytes]:
        """A file's record and its uploaded bytes."""
        with self._lock:
            return copy.deepcopy(self._ws.files[file_id]), self._ws.file_bytes.get(file_id, b"")

    def responses(self, token: str) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._ws.responses[token]["posts"])

    @property
    def response_log(self) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._ws.response_log)
