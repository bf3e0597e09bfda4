"""A whole incident asks Slack's directory once per answer, not once per command.

On a Slack the project did not write, usergroups.list was called on every permission check
(9 times in one incident): a plan naming a group or an email Slack does not know was looked
up again and again. Here the plan also names such a group and email.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.domain.plan_file import load_plan
from bot.sandbox.emulator import Emulator, EmulatorServer
from tests.conftest import start_bot
from tests.integration import test_six_steps as six_steps
from tests.support import EXAMPLE_PLAN


def test_the_six_steps_ask_the_directory_once_per_answer(
    sqlite_url: str, emulator_server: EmulatorServer, emulator: Emulator, tmp_path: Path
) -> None:
    text = EXAMPLE_PLAN.read_text()
    named = 'tech: [bob@example.com, "@payments-oncall"]'
    assert named in text
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(
        text.replace(
            named, 'tech: [bob@example.com, "@payments-oncall", "@db-oncall", gone@example.com]'
        )
    )
    bot = start_bot(sqlite_url, emulator_server.api_url, load_plan(plan_path))
    try:
        six_steps.test_all_six_steps_by_command(bot, emulator)
    finally:
        bot.stop()
    counts = Counter(call.method for call in emulator.calls)
    # Eight changing commands each checked who may act; channel setup resolved the plan too.
    assert counts["usergroups.list"] == 1
    assert counts["usergroups.users.list"] == 0  # members come with usergroups.list
    # bob, carol, dave (escalation) and the unknown address: once each.
    assert counts["users.lookupByEmail"] == 4
