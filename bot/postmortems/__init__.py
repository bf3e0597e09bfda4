"""Step 6, review (总结经验): a post-mortem compiled from the incident's own record.

``/oor review`` (or the board's Review button) opens a form for what only people know;
submitting it compiles the next version of the post-mortem (Markdown, from
``templates/postmortem.md.j2``), stores it with the incident and shares it in the channel
as a file with a summary and a **Publish** button. Publishing completes step 6. Action
items are kept per incident (``/oor actions``). Read a post-mortem back with
``oor-bot postmortem OOR-42`` or ``GET /api/incidents/OOR-42/postmortem.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.wiring import Wiring


def install(wiring: Wiring) -> None:
    """Plug step 6 into the app: ``/oor`` words and help, the form and the Publish button,
    outbox jobs, the route."""
    from bot.chat.port import DisplayNames
    from bot.postmortems.model import SUMMARY_MESSAGE
    from bot.postmortems.routes import postmortem_routes
    from bot.postmortems.service import REFRESH_SUMMARY, UPLOAD_POSTMORTEM, PostmortemService
    from bot.postmortems.slack import PostmortemSlack
    from bot.postmortems.upload import PostmortemJobs
    from bot.postmortems.views import summary_renderer

    service = PostmortemService(
        wiring.db,
        wiring.plan,
        wiring.clock,
        wiring.incidents,
        on_enqueued=wiring.worker.wake,
        names=DisplayNames(wiring.platform),
    )
    PostmortemSlack(service, wiring.commands, wiring.plan).install(wiring)
    outbox = PostmortemJobs(wiring.db, wiring.platform)
    wiring.renderers.register(SUMMARY_MESSAGE, summary_renderer(wiring.plan.tz))
    wiring.add_job_handler(UPLOAD_POSTMORTEM, outbox.upload)
    wiring.add_job_handler(REFRESH_SUMMARY, outbox.refresh_summary)
    token, private = wiring.settings.api_token, wiring.settings.api_private_token
    wiring.add_routes(
        postmortem_routes(
            wiring.db,
            token.get_secret_value() if token else None,
            private.get_secret_value() if private else None,
        )
    )
    wiring.exposed["postmortems"] = service
