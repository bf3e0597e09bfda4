"""The demo workspace the sandbox starts with: the people named in ``plan.example.yaml``."""

from __future__ import annotations

from bot.sandbox.emulator import Emulator

SANDBOX_BOT_TOKEN = "xoxb-sandbox"
SANDBOX_USERS = [
    ("U01ALICE", "alice", "alice@example.com", "Alice Wang 王丽 (commander on call)"),
    ("U02BOB", "bob", "bob@example.com", "Bob Li 李博 (payments engineer)"),
    ("U03CAROL", "carol", "carol@example.com", "Carol Chen 陈卡 (customer comms)"),
    ("U04DAVE", "dave", "dave@example.com", "Dave Zhang 张大卫 (head of payments)"),
    ("U05ERIN", "erin", "erin@example.com", "Erin Zhao 赵艾琳 (payments engineer)"),
]


def seed_demo_workspace(emu: Emulator) -> None:
    for user_id, name, email, real_name in SANDBOX_USERS:
        emu.add_user(user_id=user_id, name=name, email=email, real_name=real_name)
    emu.add_usergroup(handle="payments-oncall", user_ids=["U02BOB", "U05ERIN"])
    everyone = [u[0] for u in SANDBOX_USERS]
    emu.add_channel(name="payments-incidents", creator="U04DAVE", members=everyone)
    emu.add_channel(name="payments-review", creator="U04DAVE", members=everyone)
