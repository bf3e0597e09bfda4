"""A private incident in the weekly digest: counted, but listed without its title and left
out of the money impact (issue 14, "Private incidents"); SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from bot.digest.figures import compute_digest
from bot.digest.render import render_digest
from bot.digest.schedule import IsoWeek
from bot.digest.views import SLACK_STYLE
from bot.domain.privacy import PRIVATE_TITLE
from bot.storage.db import Database
from bot.storage.models import IncidentRow
from tests.digest.fixture_week import digest_plan, seed_fixture_weeks

# I1 of the fixture week: payment_failure sev1, 1234.50 CNY, 10 transactions, resolved
# with no post-mortem (so listed as overdue), titled "Alipay <blocked> & slow".
I1_TITLE = "Alipay <blocked> & slow"


def test_a_private_incident_is_counted_without_title_or_money(db: Database) -> None:
    ids = seed_fixture_weeks(db)
    with db.session() as session:
        row = session.get(IncidentRow, ids["I1"])
        assert row is not None
        row.private = True
        session.add(row)
    with db.session() as session:
        digest = compute_digest(session, digest_plan(), IsoWeek(2026, 47))
    current = digest.current
    # Counted as before (test_figures: 5 opened, p-f sev1 among them) ...
    assert current.opened_total == 5 and current.opened[("payment_failure", "sev1")] == 1
    # ... but its money stays in its room: 1244.50 CNY and 25 transactions without it.
    assert current.amounts == {"CNY": Decimal("10.00"), "USD": Decimal("200.24")}
    assert current.affected_transactions == 15
    [line] = [x for x in current.postmortems_overdue_list if x.number == ids["I1"]]
    assert line.title == PRIVATE_TITLE
    text = render_digest(digest, digest_plan(), SLACK_STYLE)
    assert "blocked" not in text and "1,234.50" not in text and "1234.50" not in text
    assert "private incident" in text
