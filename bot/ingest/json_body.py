"""Webhook bodies as JSON objects, and the values in them that no database can store.

:func:`decode_json_object` is shared by every adapter, so "not JSON" looks the same
whichever endpoint got it. Some valid JSON still cannot be stored: PostgreSQL's text and
JSON types refuse NUL (U+0000), neither database takes a lone surrogate (``"\\ud800"``),
and ``1e400`` parses to ``inf``, which is not JSON at all (SQLite stored it as
``Infinity``, and then the read API could not answer for that incident). Both databases
must answer alike, so this is decided here, before anything is stored:

- a non-finite number is always a 422 naming the field (no sender means it);
- NUL and lone surrogates are a 422 naming the field for the native format, and are
  scrubbed for Alertmanager, which treats a 4xx as final: losing a whole alert group for
  one odd character in a label would be worse than dropping the character.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bot.domain.outside_text import scrub, unstorable_character
from bot.ingest.errors import IngestError, loc_to_path

Loc = tuple[str | int, ...]


class _Rejected(ValueError):
    """Raised by our json.loads hooks; its message is shown to the sender as is."""


def decode_json_object(body: bytes, *, scrub_text: bool = False) -> dict[str, Any]:
    """Parse a request body that must be a JSON object, or raise IngestError.

    400 when it is not JSON, not an object, or has a key twice in one object; 422 naming
    the field for numbers that are not finite (``1e400``, and the ``NaN``/``Infinity``
    Python's parser accepts) and, unless ``scrub_text`` removes them instead, for NUL and
    lone surrogates in any string or key.
    """
    try:
        data = json.loads(body, object_pairs_hook=_reject_duplicate_keys)
        if not isinstance(data, dict):
            raise IngestError(400, f"body must be a JSON object, not {_json_kind(data)}")
        if scrub_text:
            return dict(scrubbed(data))
        check_storable(data)
    except json.JSONDecodeError as exc:
        raise IngestError(
            400, f"body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise IngestError(400, "body is not valid UTF-8 encoded JSON") from None
    except _Rejected as exc:
        raise IngestError(400, str(exc)) from None
    except RecursionError:
        raise IngestError(400, "body is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise IngestError(400, f"body is not valid JSON: {exc}") from None
    return data


def check_storable(data: Any, loc: Loc = ()) -> None:
    """Raise IngestError(422) naming the first field that holds an unstorable value."""
    if isinstance(data, dict):
        for key, value in data.items():
            what = unstorable_character(key)
            if what is not None:
                raise _unstorable((*loc, _shown(key)), what + " in its name")
            check_storable(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            check_storable(value, (*loc, index))
    elif isinstance(data, str):
        what = unstorable_character(data)
        if what is not None:
            raise _unstorable(loc, what)
    elif isinstance(data, float) and not math.isfinite(data):
        raise _not_finite(loc)


def scrubbed(data: Any, loc: Loc = ()) -> Any:
    """A copy of ``data`` with every string (keys too) made storable.

    Non-finite numbers are still refused (IngestError 422): there is no value to keep.
    """
    if isinstance(data, dict):
        return {scrub(key): scrubbed(value, (*loc, key)) for key, value in data.items()}
    if isinstance(data, list):
        return [scrubbed(value, (*loc, index)) for index, value in enumerate(data)]
    if isinstance(data, str):
        return scrub(data)
    if isinstance(data, float) and not math.isfinite(data):
        raise _not_finite(loc)
    return data


def _shown(key: str) -> str:
    """A key as a field path can show it: its unstorable characters written as escapes."""
    return scrub(key.replace("\x00", "\\u0000"))


def _not_finite(loc: Loc) -> IngestError:
    field = loc_to_path(loc)
    message = "not a finite number (1e400, NaN and Infinity cannot be stored)"
    return IngestError(422, f"{field}: {message}" if field else message, field)


def _unstorable(loc: Loc, what: str) -> IngestError:
    field = loc_to_path(loc)
    message = f"contains {what}, which cannot be stored; remove it"
    return IngestError(422, f"{field}: {message}" if field else message, field)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            # json.loads would silently keep the last one; for an amount or an id that
            # ambiguity is worse than a rejected request.
            raise _Rejected(f"body has the key {key!r} twice in one object")
        obj[key] = value
    return obj


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"
