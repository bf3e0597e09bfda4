"""Reading the plan file: YAML with unique keys, validation errors as lines a person
understands (``key.path: message`` in the words of the file), and the summary printed by
``oor-bot plan check``. The plan's model itself is in :mod:`bot.domain.plan`."""

from __future__ import annotations

import difflib
import os
import types
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from bot.domain.plan import Plan, PlanError, Problems
from bot.domain.plan_privacy import describe_private_when
from bot.domain.types import OorType, Role

__all__ = ["load_plan", "parse_plan", "plan_from_data", "plan_summary"]


# --- Loading -------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: PyYAML would silently keep the last one,
    dropping e.g. a whole `alipay:` section pasted twice."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_plan(path: str | Path) -> Plan:
    """Read and validate the plan file; :class:`PlanError` lists every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise PlanError([f"{path}: is a directory, not a plan file"]) from None
    except UnicodeDecodeError as exc:
        raise PlanError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise PlanError([f"{path}: cannot read ({exc.strerror})"]) from None
    return parse_plan(text, source=str(path))


def parse_plan(text: str, *, source: str = "plan") -> Plan:
    """Validate plan YAML given as text; ``source`` names it in whole-file messages."""
    try:
        # A SafeLoader subclass: plain data only, no arbitrary Python objects.
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else source
        message = str(exc.problem or exc.context)
        if message.startswith("expected <block end>"):
            # PyYAML's wording for the most common slip: one key indented differently.
            message += " (check the indentation of this line)"
        raise PlanError([f"{where}: {message}"]) from None
    except yaml.YAMLError as exc:
        raise PlanError([f"{source}: {exc}"]) from None
    return plan_from_data(data, source=source)


def plan_from_data(data: Any, *, source: str = "plan") -> Plan:
    """Validate an already parsed plan (a dict as YAML gives it)."""
    if data is None:
        raise PlanError([f"{source}: the file is empty"])
    if not isinstance(data, dict):
        raise PlanError([f"{source}: expected keys such as name, timezone and oor_types"])
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(_problems(exc)) from None


# --- Turning pydantic errors into lines a person understands ----------------------------------

_TYPE_MESSAGES = {
    "missing": "missing",
    "string_type": "expected text",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected keys and values (a mapping)",
    "model_type": "expected keys and values (a mapping)",
    "model_attributes_type": "expected keys and values (a mapping)",
    "string_too_short": "must not be empty",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}


def _problems(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        ctx = error.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, Problems):
            lines += [f"{_format_path(loc + sub)}: {message}" for sub, message in cause.items]
            continue
        if loc and loc[-1] == "[key]":
            # A dict key outside its enum (e.g. `responders.comandr`): same as an unknown key.
            loc = loc[:-1]
            message = _unknown_key(loc) if error["type"] == "enum" else "invalid key"
        elif error["type"] == "extra_forbidden":
            message = _unknown_key(loc)
        elif error["type"] in ("enum", "literal_error"):
            expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
            message = f"expected one of {expected}, got {error['input']!r}"
        elif cause is not None:
            message = str(cause)
        else:
            message = _TYPE_MESSAGES.get(error["type"], error["msg"])
        lines.append(f"{_format_path(loc)}: {message}")
    return lines


def _format_path(loc: tuple[Any, ...]) -> str:
    """``("oor_types", "x", "responders", "tech", 1)`` -> ``oor_types.x.responders.tech[1]``."""
    path = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _unknown_key(loc: tuple[Any, ...]) -> str:
    allowed = _keys_at(loc[:-1])
    if not allowed:
        return "unknown key"
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; expected one of {', '.join(allowed)}"


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows at ``loc`` (model fields or enum dict keys), for hints."""
    node: Any = Plan
    for part in loc:
        node = _unwrap_optional(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            if field is None:
                return []
            node = field.annotation
        elif get_origin(node) is dict:
            node = get_args(node)[1]
        elif get_origin(node) in (list, tuple):
            node = get_args(node)[0]
        else:
            return []
    node = _unwrap_optional(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    if get_origin(node) is dict:
        key_type = get_args(node)[0]
        if isinstance(key_type, type) and issubclass(key_type, Enum):
            return [str(member.value) for member in key_type]
    return []


def _unwrap_optional(node: Any) -> Any:
    if get_origin(node) in (Union, types.UnionType):
        args = [arg for arg in get_args(node) if arg is not type(None)]
        return args[0] if len(args) == 1 else node
    return node


# --- Summary for `oor-bot plan check` ----------------------------------------------------------


def plan_summary(plan: Plan, environ: Mapping[str, str] | None = None) -> str:
    """A few lines confirming what a valid plan says: per type, severity and responders;
    paging, with whether each routing-key variable is set in ``environ``."""
    lines = [f"Plan: {plan.name}", f"Time zone: {plan.timezone}"]
    channels = [
        f"{label} {channel}"
        for label, channel in (
            ("broadcast", plan.broadcast_channel),
            ("review", plan.review_channel),
        )
        if channel
    ]
    if channels:
        lines.append("Channels: " + ", ".join(channels))
    for oor_type in OorType:
        type_plan = plan.for_type(oor_type)
        people = ", ".join(f"{len(type_plan.responders[role])} {role}" for role in Role)
        if type_plan.escalation:
            people += f", {len(type_plan.escalation)} escalation"
        on_call = plan.on_call_targets(oor_type)
        if on_call:
            people += ", on call: " + " ".join(str(t) for t in on_call)
        privacy = ""
        if type_plan.private:
            privacy = "; private"
        elif type_plan.private_when is not None:
            privacy = "; private when " + describe_private_when(type_plan.private_when)
        lines.append(
            f"  {oor_type} ({oor_type.label_zh}): {type_plan.severity.label}; {people}; "
            f"deadlines {len(type_plan.deadline_map())}/6; partners {len(type_plan.partners)}"
            + privacy
        )
    if plan.payment_methods:
        methods = ", ".join(
            f"{name} ({len(method.partners)})" for name, method in plan.payment_methods.items()
        )
        lines.append(f"Payment methods (partners): {methods}")
    if plan.status_page is not None:
        keys = ", ".join(component.key for component in plan.status_page.components)
        lines.append(f"Status page: {keys}")
    lines += _paging_summary(plan, os.environ if environ is None else environ)
    return "\n".join(lines)


def _paging_summary(plan: Plan, environ: Mapping[str, str]) -> list[str]:
    paging = plan.paging
    variables = dict.fromkeys(
        v for t in OorType if (v := paging.routing_key_variable(t)) is not None
    )
    if not variables and not paging.on_open:
        return []
    on_open = "; ".join(
        f"{t} {', '.join(s.value for s in severities)}"
        for t, severities in paging.on_open.items()
        if severities
    )
    lines = [
        f"Paging on open: {on_open or 'none'}; "
        f"on escalation: {'yes' if paging.on_escalation else 'no'}"
    ]
    # Whether each variable is set where `plan check` runs: a hint, not a problem (the
    # server's environment may differ).
    lines += [
        f"  routing key from ${name}: {'set' if environ.get(name) else 'NOT SET here'}"
        for name in variables
    ]
    lines += [
        f"  {t} pages on open but has no routing key: only a pager webhook can page it "
        f"(add paging.routing_keys.{t} or paging.default_routing_key for PagerDuty)"
        for t in paging.unrouted()
    ]
    return lines
