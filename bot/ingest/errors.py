"""The one error type every ingest step raises, and how it reads on the wire.

The HTTP layer turns an :class:`IngestError` into ``status`` + ``to_json()`` without knowing
which adapter failed, so senders always get the same error shape back. The status matters to
Alertmanager in particular: it retries a 5xx but gives up on a 4xx, so everything here is a
4xx ("your request is wrong, resending will not help").
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

# Short, stable codes clients can switch on; the message is for humans and may change.
ERROR_CODES: dict[int, str] = {
    400: "invalid_json",
    401: "unauthorized",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_event",
}


class IngestError(Exception):
    """A rejected webhook request.

    ``field`` is a dotted path into the body (``details.amount``, ``alerts[1].fingerprint``)
    or None when the problem is not tied to one field. ``errors`` lists every problem found
    (``[{"field": ..., "message": ...}]``); it always holds at least this error itself so a
    client can read ``errors`` without special-casing single failures.
    """

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        *,
        errors: Sequence[dict[str, str | None]] | None = None,
    ) -> None:
        if status not in ERROR_CODES:
            raise ValueError(f"unsupported ingest error status {status}")
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message
        self.errors: list[dict[str, str | None]] = (
            list(errors) if errors else [{"field": field, "message": message}]
        )

    @property
    def code(self) -> str:
        return ERROR_CODES[self.status]

    def to_json(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "field": self.field,
            "message": self.message,
            "errors": [dict(e) for e in self.errors],
        }

    def __repr__(self) -> str:
        return f"IngestError({self.status}, {self.message!r}, field={self.field!r})"


def loc_to_path(loc: Sequence[str | int]) -> str | None:
    """``("alerts", 0, "startsAt")`` -> ``"alerts[0].startsAt"``; ``()`` -> None."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or None


def _unknown_field_message(loc: Sequence[str | int], known: Mapping[str, Collection[str]]) -> str:
    message = "unknown field (not part of the schema; check its spelling)"
    parent = loc_to_path(loc[:-1]) or ""
    name = loc[-1] if loc else None
    if isinstance(name, str) and parent in known:
        close = difflib.get_close_matches(name, list(known[parent]), n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
    return message


def _human_message(error: Any, known: Mapping[str, Collection[str]]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_field_message(error["loc"], known)
    if kind == "missing":
        return "this field is required"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a JSON object"  # pydantic's text would name our Python class
    msg = str(error["msg"])
    # Plain ``ValueError`` raised in a validator arrives prefixed; the prefix adds nothing.
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    # "Input should be ..." reads better after "field: "; keep acronyms such as "URL".
    if msg[:2].istitle():
        msg = msg[:1].lower() + msg[1:]
    return msg or kind


def from_validation_error(
    exc: ValidationError, known_fields: Mapping[str, Collection[str]] | None = None
) -> IngestError:
    """A pydantic ``ValidationError`` as a 422 naming the first failing field.

    ``known_fields`` maps a parent path (``""`` for the top level, ``"details"``) to the
    field names allowed there, so that an unknown field gets a "did you mean" hint: a
    sender who typed ``titel`` should be told ``title`` rather than just "no".

    Only pydantic's ``msg`` is used, never ``input``: echoing input back could be large
    and could repeat data (card-adjacent fields, tokens) that should not travel further.
    """
    errors: list[dict[str, str | None]] = [
        {"field": loc_to_path(e["loc"]), "message": _human_message(e, known_fields or {})}
        for e in exc.errors()
    ]
    if not errors:  # defensive: pydantic never raises an empty ValidationError
        return IngestError(422, "the event is not valid")
    first = errors[0]
    message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    if len(errors) > 1:
        more = len(errors) - 1
        message += f" (and {more} more error{'s' if more > 1 else ''}, see 'errors')"
    return IngestError(422, message, first["field"], errors=errors)
