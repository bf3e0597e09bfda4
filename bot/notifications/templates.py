"""Rendering customer notifications from Jinja2 templates, safely.

Templates live in ``<templates dir>/notifications/<oor type>/<channel>.<locale>.j2``
(``payment_failure/sms.zh-CN.j2``). An operator's directory (``OOR_TEMPLATES_DIR``), when
given, is searched first, so one file there overrides the shipped one of the same name
and new names can be added.

Safety: the environment is Jinja2's immutable sandbox (a template cannot reach Python
internals such as ``''.__class__.__mro__``: that raises ``SecurityError``) with
``StrictUndefined`` (a misspelt variable fails, naming the template, the line and the
variable, instead of silently leaving a gap in a message sent to thousands of people).
Autoescaping is off because nothing rendered here is HTML. Incident data is passed as
variables only, never compiled, so ``{{ 7*7 }}`` in a webhook's title stays literal.

Email and status-page templates start with a ``Subject: …`` line (the email subject or
the status page's incident title); SMS templates are written one sentence per line and
joined into one line, since an SMS has no room for layout.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.domain.types import OorType
from bot.notifications.sms import with_signature
from bot.notifications.variables import build_variables
from bot.resources import TEMPLATES_DIR

SUBDIR = "notifications"
SUBJECT_PREFIX = "Subject:"
# Slack's plain-text input (the Edit form) takes at most 3000 characters.
BODY_LIMIT = 3000
SUBJECT_LIMIT = 250
_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")


class NotificationTemplateError(Exception):
    """A template could not be rendered; the message names the template (and variable)."""

    def __init__(self, template: str, message: str) -> None:
        super().__init__(f"{template}: {message}")
        self.template = template


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    body: str


def template_name(oor_type: OorType, channel: NotifyChannel, locale: Locale) -> str:
    return f"{oor_type.value}/{channel.value}.{locale.value}.j2"


def has_subject(channel: NotifyChannel) -> bool:
    return channel is not NotifyChannel.SMS


class NotificationTemplates:
    def __init__(
        self,
        override_dir: Path | str | None = None,
        packaged_dir: Path | str = TEMPLATES_DIR,
    ) -> None:
        dirs = [Path(packaged_dir) / SUBDIR]
        if override_dir:
            dirs.insert(0, Path(override_dir) / SUBDIR)
        self.search_path = tuple(dirs)
        self.env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader([FileSystemLoader(str(d)) for d in dirs]),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def exists(self, oor_type: OorType, channel: NotifyChannel, locale: Locale) -> bool:
        try:
            self.env.get_template(template_name(oor_type, channel, locale))
        except TemplateNotFound:
            return False
        return True

    def render(
        self,
        oor_type: OorType,
        channel: NotifyChannel,
        locale: Locale,
        variables: Mapping[str, Any],
    ) -> Rendered:
        name = template_name(oor_type, channel, locale)
        text = self.render_name(name, variables)
        subject: str | None = None
        if has_subject(channel):
            subject, text = _split_subject(name, text)
        body = _sms_line(text, locale) if channel is NotifyChannel.SMS else _tidy(text)
        if not body:
            raise NotificationTemplateError(name, "rendered an empty message")
        if len(body) > BODY_LIMIT:
            raise NotificationTemplateError(
                name, f"rendered {len(body)} characters; at most {BODY_LIMIT} fit a message"
            )
        return Rendered(subject=subject, body=body)

    def render_name(self, name: str, variables: Mapping[str, Any]) -> str:
        """Render one template by name; every failure names the template."""
        try:
            template = self.env.get_template(name)
        except TemplateNotFound as exc:
            where = ", ".join(str(d) for d in self.search_path)
            raise NotificationTemplateError(name, f"no such template (looked in {where})") from exc
        except TemplateSyntaxError as exc:
            raise NotificationTemplateError(
                exc.name or name, f"line {exc.lineno}: {exc.message}"
            ) from exc
        try:
            return template.render(**variables)
        except UndefinedError as exc:
            raise _undefined(name, exc) from exc

    def render_string(self, source: str, variables: Mapping[str, Any]) -> str:
        """Render template text (tests, previews) in the same sandbox."""
        try:
            return self.env.from_string(source).render(**variables)
        except UndefinedError as exc:
            raise _undefined("<string>", exc) from exc


def render_message(
    templates: NotificationTemplates,
    plan: Plan,
    incident: IncidentSnapshot,
    channel: NotifyChannel,
    locale: Locale,
) -> Rendered:
    """The message as it will be sent: Chinese SMS carry the plan's signature (短信签名),
    put in front by the bot so an overriding template cannot forget it."""
    variables = build_variables(incident, plan, locale)
    rendered = templates.render(incident.type, channel, locale, variables)
    signature = sms_signature(plan, channel, locale)
    if signature:
        return Rendered(rendered.subject, with_signature(rendered.body, signature))
    return rendered


def sms_signature(plan: Plan, channel: NotifyChannel, locale: Locale) -> str | None:
    """The plan's sender signature (短信签名) when the message is a Chinese SMS: carriers
    require it there, and it counts towards the length. ``None`` for everything else."""
    if channel is NotifyChannel.SMS and locale is Locale.ZH_CN:
        return plan.notifications.sms_signature
    return None


def _undefined(name: str, exc: UndefinedError) -> NotificationTemplateError:
    # Jinja rewrites tracebacks so template frames carry the file and line; the innermost
    # one is where the variable was used (perhaps a base template or the macros file).
    where, line = name, None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2") or frame.filename == "<template>":
            where = _relative(frame.filename) or name
            line = frame.lineno
    message = str(exc.message or exc)
    match = _UNDEFINED_NAME.match(message)
    detail = f"undefined variable '{match.group(1)}'" if match else message
    at = f" (line {line})" if line is not None else ""
    if where != name:
        at += f" in {where}"
    return NotificationTemplateError(name, detail + at)


def _relative(filename: str) -> str | None:
    parts = Path(filename).parts
    if SUBDIR in parts:
        return "/".join(parts[len(parts) - parts[::-1].index(SUBDIR) :])
    return None


def _split_subject(name: str, text: str) -> tuple[str, str]:
    first, _, rest = text.lstrip("\n").partition("\n")
    if not first.startswith(SUBJECT_PREFIX):
        raise NotificationTemplateError(name, f"must start with a '{SUBJECT_PREFIX} …' line")
    subject = " ".join(first.removeprefix(SUBJECT_PREFIX).split())
    if not subject:
        raise NotificationTemplateError(name, "rendered an empty subject")
    return subject[:SUBJECT_LIMIT], rest


def _tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row (conditionals leave gaps)."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    tidy: list[str] = []
    for line in lines:
        if not line and (not tidy or not tidy[-1]):
            continue
        tidy.append(line)
    return "\n".join(tidy).strip()


def _sms_line(text: str, locale: Locale) -> str:
    """One line: Chinese sentences run on without spaces, English ones take one."""
    parts = [line.strip() for line in text.splitlines() if line.strip()]
    return ("" if locale is Locale.ZH_CN else " ").join(parts)
