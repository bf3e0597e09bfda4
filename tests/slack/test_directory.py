"""Directory lookups: one Slack call per answer per expiry, misses included, outages not."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.domain.plan import ResponderRef
from bot.metrics import Metrics
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.slack.directory import DIRECTORY_TTL_SECONDS, Directory
from bot.slack.gateway import SlackGateway, SlackTransient, build_web_client
from tests.support import BOT_TOKEN

REFS = [
    ResponderRef.model_validate(text)
    for text in ("U01ALICE", "bob@example.com", "@payments-oncall", "@db-oncall", "x@example.com")
]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def directory(emulator_server: EmulatorServer, clock: FakeMonotonic) -> Directory:
    client = build_web_client(BOT_TOKEN, emulator_server.api_url, timeout=2)
    return Directory(SlackGateway(client, Metrics()), monotonic=clock)


def calls(emulator: Emulator) -> Counter[str]:
    return Counter(c.method for c in emulator.calls)


def test_responders_are_resolved_and_misses_named(directory: Directory) -> None:
    resolution = directory.resolve(REFS)
    assert resolution.user_ids == ["U01ALICE", "U02BOB", "U05ERIN"]
    assert resolution.unresolved == [
        ("@db-oncall", "no_such_subteam"),
        ("x@example.com", "users_not_found"),
    ]


def test_each_answer_is_asked_once_until_it_expires(
    directory: Directory, emulator: Emulator, clock: FakeMonotonic
) -> None:
    first = directory.resolve(REFS)
    for _ in range(9):  # nine permission checks in one incident
        assert directory.resolve(REFS) == first
    # One usergroups.list (members included) serves every handle, the missing one too.
    assert calls(emulator) == {"usergroups.list": 1, "users.lookupByEmail": 2}

    clock.now += DIRECTORY_TTL_SECONDS - 1
    directory.resolve(REFS)
    assert sum(calls(emulator).values()) == 3
    clock.now += 1
    emulator.add_usergroup("db-oncall", ["U04DAVE"])  # someone fixed the workspace
    assert "U04DAVE" in directory.resolve(REFS).user_ids
    assert calls(emulator) == {"usergroups.list": 2, "users.lookupByEmail": 4}


def test_outages_are_not_cached(directory: Directory, emulator: Emulator) -> None:
    emulator.faults.add(method="usergroups.list", error="internal_error", times=1)
    with pytest.raises(SlackTransient):
        directory.resolve(REFS)
    assert "U05ERIN" in directory.resolve(REFS).user_ids
    assert calls(emulator)["usergroups.list"] == 2


def test_names_are_cached_and_expire(
    directory: Directory, emulator: Emulator, clock: FakeMonotonic
) -> None:
    assert directory.real_name("U01ALICE") == "Alice Wang 王丽 (commander on call)"
    assert directory.real_name("U01ALICE") == "Alice Wang 王丽 (commander on call)"
    assert directory.real_name("U09NOBODY") is None
    assert directory.real_name("U09NOBODY") is None
    assert calls(emulator) == {"users.info": 2}
    clock.now += DIRECTORY_TTL_SECONDS
    directory.real_name("U01ALICE")
    assert calls(emulator) == {"users.info": 3}


def test_the_cache_is_bounded(emulator_server: EmulatorServer, emulator: Emulator) -> None:
    client = build_web_client(BOT_TOKEN, emulator_server.api_url, timeout=2)
    small = Directory(SlackGateway(client, Metrics()), max_entries=2)
    for user in ("U01ALICE", "U02BOB", "U03CAROL", "U01ALICE"):
        small.real_name(user)
    assert calls(emulator) == {"users.info": 4}  # Alice was evicted by Carol
