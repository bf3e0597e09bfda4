"""Customer notifications (step 5, 通知客户): drafts from templates, approval, delivery.

``/oor notify [sms|email|status_page] [zh-CN|en]`` (and the board's Notify button) drafts
one message per channel and language from Jinja2 templates, posts each in the incident
channel with Approve / Edit / Discard, and marks step 5 done once every draft is decided
and at least one was approved. Approved messages go to the plan's delivery webhooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from bot.notifications.delivery import NotificationJobs
from bot.notifications.model import DRAFT_MESSAGE
from bot.notifications.service import DraftService
from bot.notifications.slack import register_notify
from bot.notifications.templates import SUBDIR, NotificationTemplates
from bot.notifications.views import draft_renderer
from bot.resources import TEMPLATES_DIR

if TYPE_CHECKING:
    from bot.wiring import Wiring

log = structlog.get_logger(__name__)


def install(wiring: Wiring, templates_dir: Path | None = None) -> None:
    override = templates_dir or wiring.settings.templates_dir
    if override is not None and not (override / SUBDIR).is_dir():
        # Not fatal (the shipped templates still work), but the operator meant something.
        log.warning("notification_templates_dir_missing", path=str(override / SUBDIR))
    templates = NotificationTemplates(override, TEMPLATES_DIR)
    drafts = DraftService(
        wiring.db,
        wiring.clock,
        wiring.incidents,
        wiring.plan,
        templates,
        on_enqueued=wiring.worker.wake,
    )
    jobs = NotificationJobs(
        wiring.db,
        wiring.platform,
        wiring.plan,
        wiring.clock,
        on_enqueued=wiring.worker.wake,
        while_waiting=wiring.worker.turn.lent,
    )
    wiring.add_job_handlers(jobs.handlers())
    wiring.renderers.register(DRAFT_MESSAGE, draft_renderer(wiring.plan))
    register_notify(wiring, drafts)
    wiring.exposed["notifications"] = drafts
    wiring.exposed["notification_templates"] = templates
    wiring.exposed["notification_jobs"] = jobs


__all__ = ["install"]
