"""The PagerDuty account the emulator and adapter tests share."""

from __future__ import annotations

from bot.sandbox.pagerduty import PagerDutyEmulator

WEEK = 7 * 24 * 3600


def seed_account(emu: PagerDutyEmulator, payments_key: str, cards_key: str) -> None:
    """Alice and Bob rotate weekly from Monday 09:00 UTC on "Primary" (PSCHED1), Carol is
    level 2 of "Payments" (PEPOL01); services "Payments" and "Cards" use that policy."""
    emu.add_user("PALICE1", "Alice Martin", "alice@example.com")
    emu.add_user("PBOB001", "Bob Durand", "bob@example.com")
    emu.add_user("PCAROL1", "Carol Chen", "carol@example.com")
    emu.add_schedule(
        "PSCHED1",
        "Primary",
        layers=[
            {
                "users": ["PALICE1", "PBOB001"],
                "start": "2026-11-02T09:00:00Z",
                "rotation_turn_length_seconds": WEEK,
            }
        ],
    )
    emu.add_escalation_policy("PEPOL01", "Payments", [["PSCHED1"], ["PCAROL1"]])
    emu.add_service("PSVC001", "Payments", "PEPOL01", payments_key)
    emu.add_service("PSVC002", "Cards", "PEPOL01", cards_key)
