"""The features an app installs by default, in order: each plugs itself in through a
:class:`~bot.wiring.Wiring` (its ``/oor`` words and help, job handlers, buttons and forms,
routes, ticks). The core names none of them; ``create_app(features=...)`` takes a subset.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import digest, notifications, paging, postmortems, privacy, reminders, statuspage
from bot.wiring import Wiring

FEATURES: tuple[Callable[[Wiring], None], ...] = (
    notifications.install,
    postmortems.install,
    digest.install,
    reminders.install,
    statuspage.install,
    paging.install,
    privacy.install,
)
