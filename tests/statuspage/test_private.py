"""A private incident on the public status page: exactly like any other, it appears only
through approved status_page updates, never with its internal title, amounts or merchant
(issue 14, "Private incidents": "the status page shows it only through approved updates").
"""

from __future__ import annotations

from bot.domain.plan import Plan
from bot.domain.types import OorType
from tests.statuspage.harness import status_bot
from tests.statuspage.test_page_flow import assert_nothing_internal, public_incidents


def private_payment_failures(plan: Plan) -> Plan:
    private = plan.for_type(OorType.PAYMENT_FAILURE).model_copy(update={"private": True})
    types = plan.oor_types.model_copy(update={"payment_failure": private})
    return plan.model_copy(update={"oor_types": types})


def test_a_private_incident_shows_only_through_its_approved_update(
    database_url: str, plan: Plan
) -> None:
    with status_bot(database_url, private_payment_failures(plan)) as bot:
        number = bot.fire()
        assert bot.incident(number).private
        assert public_incidents(bot) == []
        assert_nothing_internal(bot)
        draft = bot.draft(number)
        assert public_incidents(bot) == []  # waiting for approval: not public
        bot.approve(draft)
        [shown] = public_incidents(bot)
        assert shown["name"] == draft.subject
        assert_nothing_internal(bot)
