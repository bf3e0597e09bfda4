"""Typed access to Web API arguments, plus the per-method declaration (`MethodSpec`).

Slack accepts the same argument as a form string ("true", "1", '[{"type": ...}]') or as a real
JSON value, so handlers read arguments only through `Args`, which normalises both. `Args` also
refuses to read a name the method did not declare: that keeps `MethodSpec.args` an honest list,
which the tests compare against Slack's published spec.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.sandbox.emulator.scopes import NO_SCOPE, ScopeRule
from bot.sandbox.emulator.state import JSON, SlackError

if TYPE_CHECKING:
    from bot.sandbox.emulator.state import Workspace

_TRUE = {"true", "1", "yes", "on"}


class Args:
    """Arguments of one call, read-only, restricted to the method's declared names."""

    def __init__(self, values: dict[str, Any], allowed: Iterable[str]) -> None:
        self._values = values
        self._allowed = frozenset(allowed)

    def _get(self, name: str) -> Any:
        if name not in self._allowed:
            raise AssertionError(f"handler read undeclared argument {name!r}")
        value = self._values.get(name)
        return None if value == "" else value

    def has(self, name: str) -> bool:
        return self._get(name) is not None

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self._get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in _TRUE

    def get_int(self, name: str, default: int, error: str = "invalid_arguments") -> int:
        value = self._get(name)
        if value is None:
            return default
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise SlackError(error) from exc

    def get_list(self, name: str) -> list[str]:
        """A comma-separated list (Slack's encoding for `users`, `types`, ...)."""
        value = self._get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        return [part.strip() for part in str(value).split(",") if part.strip()]

    def get_json(self, name: str, error: str) -> Any:
        """A JSON argument sent either as an encoded string or as a real JSON value."""
        value = self._get(name)
        if value is None or not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SlackError(error) from exc


Handler = Callable[["Workspace", Args], JSON]


@dataclass(frozen=True)
class MethodSpec:
    """What the emulator supports for one Web API method.

    `args` are the arguments the handler reads (besides `token`); `scopes` says which bot-token
    scopes a call needs given its arguments and target (`bot.sandbox.emulator.scopes`);
    `errors` are the method-specific error codes the handler can return, beyond the generic
    auth/fault ones; `tier` is Slack's rate-limit tier (1-4; 5 = "special", a method's own
    limits such as chat.postMessage's one message per second per channel). `token_type` is
    the kind of token the method takes: "bot" (``xoxb-``) or "app" (app-level ``xapp-``, whose
    scopes such as connections:write are not bot scopes); any other kind gets
    ``not_allowed_token_type``.
    """

    name: str
    handler: Handler
    args: tuple[str, ...]
    scopes: ScopeRule = NO_SCOPE
    errors: tuple[str, ...] = field(default=())
    tier: int | None = None
    token_type: Literal["bot", "app"] = "bot"
