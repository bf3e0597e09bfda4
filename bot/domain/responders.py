"""Who the plan names as responsible (责任人): a Slack user id, an email, or a user-group handle.

The plan stays readable and portable between workspaces by allowing emails and group handles;
the Slack adapter resolves them to user ids at run time (``users.lookupByEmail``,
``usergroups.list``). The domain only checks the shape and remembers which kind it is.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_serializer, model_validator

from bot.domain.records import is_user_id

ResponderKind = Literal["user", "email", "usergroup"]

# Deliberately loose: one @, a dot in the domain, no spaces. Slack does the real check.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Slack user-group handles: lowercase letters, digits, '.', '-' and '_'.
_HANDLE = re.compile(r"^@([a-z0-9][a-z0-9._-]*)$")

RESPONDER_HINT = "not a Slack user id, email or @user-group handle"


class ResponderRef(BaseModel):
    """One entry of a responder list, e.g. ``U01ALICE``, ``bob@example.com``, ``@payments-oncall``.

    ``value`` is the user id, the email, or the handle without its ``@``. In YAML (and when
    serialised) a ref is the plain string; ``str(ref)`` gives that string back.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ResponderKind
    value: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            kind, value = _classify(data)
            return {"kind": kind, "value": value}
        if isinstance(data, dict):
            return data
        raise ValueError(f"{RESPONDER_HINT} (got {data!r})")

    @model_serializer
    def _to_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"@{self.value}" if self.kind == "usergroup" else self.value


def parse_responder(text: str) -> ResponderRef:
    """``"@payments-oncall"`` -> ``ResponderRef(kind="usergroup", value="payments-oncall")``.

    Raises ``ValueError`` when the text is none of the three shapes.
    """
    kind, value = _classify(text)
    return ResponderRef(kind=kind, value=value)


def _classify(text: str) -> tuple[ResponderKind, str]:
    text = text.strip()
    if is_user_id(text):
        return "user", text
    if (handle := _HANDLE.match(text)) is not None:
        return "usergroup", handle.group(1)
    if _EMAIL.match(text):
        return "email", text
    raise ValueError(RESPONDER_HINT)
