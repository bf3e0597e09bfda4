"""Private incidents after opening: ``/oor private`` and ``/oor public confirm`` move an
open incident into a new private (or public) room and archive the old one.

Opening private (the plan's ``private``/``private_when``, ``/oor declare --private``) and
what a private incident shows outside its room are the core's (bot.domain.privacy); this
feature only adds the words and the move's outbox jobs (bot.privacy.moves).
"""

from __future__ import annotations

from bot.privacy.moves import RoomMoves
from bot.privacy.service import PrivacyService
from bot.privacy.slack import PrivacyCommands
from bot.wiring import Wiring


def install(wiring: Wiring) -> None:
    service = PrivacyService(wiring.db, wiring.clock, on_enqueued=wiring.worker.wake)
    PrivacyCommands(service, wiring.commands).install(wiring)
    moves = RoomMoves(wiring.db, wiring.platform, wiring.clock, on_enqueued=wiring.worker.wake)
    wiring.add_job_handlers(moves.handlers())
    wiring.exposed["privacy"] = service
