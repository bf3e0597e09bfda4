"""``oor-bot notify render``: preview a notification template in a terminal.

``oor-bot notify render --type payment_failure --channel sms --locale zh-CN --sample``
renders the template with a realistic sample incident (``--resolved`` for the message
sent after the fix) and, for SMS, prints how carriers count it. Exit codes: 0 ok,
2 a template or argument problem (one line on stderr, naming the template).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.domain.types import OorType
from bot.notifications.sms import count_sms
from bot.notifications.templates import (
    NotificationTemplateError,
    NotificationTemplates,
    render_message,
    template_name,
)
from bot.notifications.variables import sample_incident
from bot.resources import TEMPLATES_DIR

PROG = "oor-bot"


def add_notify_parser(subparsers: Any) -> None:
    """Add ``notify render`` to an argparse sub-parsers action."""
    notify = subparsers.add_parser("notify", help="customer notification templates")
    sub = notify.add_subparsers(dest="notify_command", required=True)
    render = sub.add_parser("render", help="render a notification template")
    render.add_argument("--type", required=True, choices=[t.value for t in OorType])
    render.add_argument("--channel", required=True, choices=[c.value for c in NotifyChannel])
    render.add_argument("--locale", required=True, choices=[loc.value for loc in Locale])
    render.add_argument(
        "--sample", action="store_true", help="render with a sample incident (required for now)"
    )
    render.add_argument(
        "--resolved", action="store_true", help="the sample incident is resolved (the update)"
    )
    render.add_argument(
        "--templates-dir", help="templates to search before the shipped ones (OOR_TEMPLATES_DIR)"
    )
    render.add_argument("--plan", help="plan file (default: OOR_PLAN)")


def render_preview(
    plan: Plan,
    templates: NotificationTemplates,
    oor_type: OorType,
    channel: NotifyChannel,
    locale: Locale,
    *,
    resolved: bool = False,
) -> str:
    """What ``notify render`` prints: template name, subject, text, SMS count."""
    incident = sample_incident(oor_type, resolved=resolved)
    rendered = render_message(templates, plan, incident, channel, locale)
    lines = [f"Template: {template_name(oor_type, channel, locale)}"]
    if rendered.subject is not None:
        label = "Title" if channel is NotifyChannel.STATUS_PAGE else "Subject"
        lines.append(f"{label}: {rendered.subject}")
    lines += ["", rendered.body, ""]
    if channel is NotifyChannel.SMS:
        count = count_sms(rendered.body)
        lines.append(f"SMS: {count.describe()}")
        if count.warning:
            lines.append(f"Warning: {count.warning}")
    return "\n".join(lines).rstrip("\n")


def run_notify(args: argparse.Namespace, plan: Plan, templates_dir: Path | None) -> int:
    if args.notify_command != "render":  # argparse allows only render today
        return 2
    if not args.sample:
        print(
            f"{PROG}: notify render: give --sample (stored incidents are drafted in Slack "
            "with /oor notify)",
            file=sys.stderr,
        )
        return 2
    override = Path(args.templates_dir) if args.templates_dir else templates_dir
    templates = NotificationTemplates(override, TEMPLATES_DIR)
    try:
        text = render_preview(
            plan,
            templates,
            OorType(args.type),
            NotifyChannel(args.channel),
            Locale(args.locale),
            resolved=args.resolved,
        )
    except NotificationTemplateError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0
