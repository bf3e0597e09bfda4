"""The one scheduler of the process's ticks (bot/ticks.py): a failing tick runs again, a
cancelled one is waited for, stopping tells a long tick to end."""

from __future__ import annotations

import threading

import pytest

from bot.ticks import DuplicateTick, Ticks
from tests.support import wait_for

FAST = 0.02  # seconds between ticks


def test_a_tick_that_fails_is_run_again_and_the_others_go_on() -> None:
    ticks = Ticks()
    failures: list[int] = []
    runs: list[int] = []

    def broken() -> None:
        failures.append(1)
        raise RuntimeError("database down")

    ticks.add_tick("broken", FAST, broken, first_in=0)
    ticks.add_tick("fine", FAST, lambda: runs.append(1), first_in=0)
    ticks.start()
    try:
        wait_for(lambda: len(failures) >= 3 and len(runs) >= 3, what="ticks after failures")
    finally:
        ticks.stop()
    assert not ticks.running


def test_cancel_waits_for_the_run_under_way_and_resume_restarts_it() -> None:
    ticks = Ticks()
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow() -> None:
        order.append("run")
        started.set()
        release.wait(10)
        order.append("run done")

    tick = ticks.add_tick("slow", FAST, slow, first_in=0)
    ticks.start()
    try:
        assert started.wait(10)
        canceller = threading.Thread(target=lambda: (tick.cancel(), order.append("cancelled")))
        canceller.start()
        canceller.join(0.2)
        assert canceller.is_alive()  # still waiting for the run under way
        release.set()
        canceller.join(10)
        assert order[-2:] == ["run done", "cancelled"]
        assert not tick.running
        runs = order.count("run")
        tick.resume()
        assert tick.running
        wait_for(lambda: order.count("run") > runs, what="a run after resume")
    finally:
        release.set()
        ticks.stop()


def test_stopping_tells_a_long_tick_to_end() -> None:
    ticks = Ticks()
    stop_asked = threading.Event()
    started = threading.Event()

    def sweep() -> None:
        started.set()
        stop_asked.wait(30)  # a long sweep that ends when told

    ticks.add_tick("sweep", 600, sweep, first_in=0, on_stop=stop_asked.set)
    ticks.start()
    assert started.wait(10)
    stopper = threading.Thread(target=ticks.stop)
    stopper.start()
    stopper.join(10)
    assert not stopper.is_alive() and stop_asked.is_set()


def test_two_ticks_under_one_name_or_a_zero_interval_are_refused() -> None:
    ticks = Ticks()
    ticks.add_tick("scan", 5, lambda: None)
    with pytest.raises(DuplicateTick):
        ticks.add_tick("scan", 5, lambda: None)
    with pytest.raises(ValueError):
        ticks.add_tick("other", 0, lambda: None)
