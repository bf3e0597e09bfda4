"""Files the bot shared (a post-mortem, a digest's chart), shown the way Slack shows them.

A message carries file objects; their bytes are in the emulator. The page shows a card per
file — an image inline, text as a scrollable preview — and links to ``/sandbox/files/<id>``
for the whole file. Files are served only as an image type recognised from its first bytes,
as plain text or as a download, never as anything a browser would run.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.sandbox.emulator import Emulator

JSON = dict[str, Any]
PREVIEW_CHARS = 20_000  # a long post-mortem's preview stops here; the link has it all
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)
_TEXT = "text/plain; charset=utf-8"


def _content(data: bytes) -> tuple[str, str | None]:
    """(media type, text) of a file's bytes: a known image, UTF-8 text, or opaque bytes."""
    for magic, media_type in _IMAGES:
        if data.startswith(magic):
            return media_type, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream", None
    if "\x00" in text:
        return "application/octet-stream", None
    return _TEXT, text


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def attachment(emulator: Emulator, shared: JSON) -> JSON:
    """What the page shows for one file object of a message."""
    file_id = str(shared.get("id") or "")
    try:
        _, data = emulator.file(file_id)
    except KeyError:
        data = b""
    media_type, text = _content(data)
    kind = "image" if media_type.startswith("image/") else "text" if text is not None else "other"
    preview = None if text is None else text[:PREVIEW_CHARS]
    return {
        "id": file_id,
        "title": str(shared.get("title") or shared.get("name") or file_id),
        "name": str(shared.get("name") or ""),
        "size": _size(len(data)),
        "url": f"/sandbox/files/{file_id}",
        "kind": kind,
        "preview": preview,
        "cut": text is not None and len(text) > PREVIEW_CHARS,
    }


async def serve_file(emulator: Emulator, request: Request) -> Response:
    """``GET /sandbox/files/<id>``: the file's bytes, as an image, plain text or a download."""
    file_id = request.path_params["file_id"]
    try:
        record, data = emulator.file(file_id)
    except KeyError:
        return Response("not found", status_code=404, media_type=_TEXT)
    media_type, _ = _content(data)
    name = "".join(c for c in str(record.get("name") or file_id) if c.isalnum() or c in "._-")
    disposition = "attachment" if media_type == "application/octet-stream" else "inline"
    headers = {
        "content-disposition": f'{disposition}; filename="{name or file_id}"',
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; img-src 'self'; sandbox",
        "cache-control": "no-cache",
    }
    return Response(data, media_type=media_type, headers=headers)
