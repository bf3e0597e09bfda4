"""Δ formatting, the sandboxed strict template, and Slack's per-section limit."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from bot.digest.figures import Compliance, Digest, Durations, WeekFigures
from bot.digest.render import (
    count_delta,
    duration_delta,
    money_delta,
    render_digest,
    share_delta,
)
from bot.digest.views import SLACK_STYLE, sections
from tests.digest.fixture_week import digest_plan


def test_deltas() -> None:
    assert count_delta(5, 3) == "5 (prev 3, Δ +2)"
    assert count_delta(1, 3) == "1 (prev 3, Δ −2)"
    assert count_delta(0, 0) == "0 (prev 0, Δ ±0)"
    assert duration_delta(510, 600) == "8m 30s (prev 10m, Δ −1m 30s)"
    assert duration_delta(90000, 3600) == "1d 1h (prev 1h, Δ +1d)"
    assert duration_delta(None, 600) == "— (prev 10m)"
    assert (
        share_delta(Compliance(5, 11), Compliance(5, 7)) == "45% (5/11) (prev 71% (5/7), Δ −26 pp)"
    )
    assert share_delta(Compliance(0, 0), Compliance(1, 1)) == "— (0 steps) (prev 100% (1/1))"
    assert (
        money_delta("CNY", Decimal("1244.5"), Decimal(0)) == "CNY 1,244.50 (prev 0.00, Δ +1,244.50)"
    )
    # The currency as given; the surface writes it in its style (Slack: escaped).
    assert money_delta("<b>", Decimal(1), Decimal(2)) == "<b> 1.00 (prev 2.00, Δ −1.00)"
    assert SLACK_STYLE.text(money_delta("<b>", Decimal(1), Decimal(2))).startswith("&lt;b&gt; ")


def test_sections_split_at_paragraphs_within_the_limit() -> None:
    text = "\n\n".join(f"para {i}\n" + "x" * 900 for i in range(7))
    pieces = sections(text)
    assert all(len(p) <= 3000 for p in pieces) and len(pieces) == 3
    assert "\n\n".join(pieces) == text
    long_paragraph = "\n".join("y" * 100 for _ in range(70))  # one paragraph of 7069 chars
    assert all(len(p) <= 3000 for p in sections(long_paragraph))


def test_the_template_is_strict_and_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "digest.mrkdwn.j2").write_text("{{ no_such_figure }}")
    with pytest.raises(UndefinedError):
        render_digest(_any_digest(), digest_plan(), SLACK_STYLE, templates=tmp_path)
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    (unsafe / "digest.mrkdwn.j2").write_text("{{ week.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        render_digest(_any_digest(), digest_plan(), SLACK_STYLE, templates=unsafe)


def _any_digest() -> Digest:
    none = Durations(0, None, None)
    moment = datetime(2026, 11, 16, tzinfo=UTC)

    def week(name: str) -> WeekFigures:
        return WeekFigures(name, moment, moment, {}, none, none, {}, 0, {}, 0, [], 0, [], {})

    return Digest(week("2026-W47"), week("2026-W46"))
