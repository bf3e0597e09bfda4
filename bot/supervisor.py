"""Several server processes on one listening socket, started and stopped as one.

Why our own small supervisor rather than uvicorn's ``--workers`` or gunicorn:

- uvicorn's supervisor runs a plain ``uvicorn.Server`` in each child, so the outbox could
  not be told to stop claiming at the signal (``bot.server.GracefulServer``), each child
  would end "killed by SIGTERM", and its health check kills a child that does not answer a
  ping within 5 s — which a process busy under load may not;
- gunicorn would be a second server and configuration layer (its own worker timeouts and
  graceful period) to keep in step with ours.

What this does is small: the parent binds the socket and forks N children that each run
the single-process server on it (the kernel spreads connections over the processes that
accept). Forked after start-up work (imports, plan, migration) they share its memory
copy-on-write. SIGTERM/SIGINT is passed on to every child, which drains exactly as a single
process does; the parent exits 0 once all have exited 0. A child that dies while serving is
replaced; one that dies right after it started would die again, so everything stops with
status 1. The children count their metrics into files of a directory made for this start
(removed at the end: a later start never reads an earlier one's counts), and each one's
``/metrics`` sums them all (``bot.metrics``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

import structlog

from bot.metrics import count_in_files, forget_process

log = structlog.get_logger(__name__)

# Fork: children inherit the bound socket and the parent's imported modules (shared
# copy-on-write, and start in a fraction of a second). Safe because the parent holds no
# threads or database connections when it forks (checked below).
_FORK = multiprocessing.get_context("fork")

# A child that exits sooner than this after starting failed to start (bad configuration,
# database away): starting it again would fail the same way.
STARTUP_FAILURE_SECONDS = 10.0
# How often a child checks that its parent is still alive (if the parent is killed, the
# children must not keep serving the port unsupervised).
PARENT_CHECK_SECONDS = 1.0

StopSignal = int
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Supervisor:
    """Run ``target(sock)`` in ``count`` forked children until a stop signal; returns the
    parent's exit status."""

    def __init__(
        self,
        count: int,
        target: Callable[[socket.socket], None],
        sock: socket.socket,
        startup_failure_seconds: float = STARTUP_FAILURE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._count = count
        self._target = target
        self._sock = sock
        self._startup_failure_seconds = startup_failure_seconds
        self._clock = clock
        self._signals: list[StopSignal] = []
        self._children: dict[int, tuple[BaseProcess, float]] = {}  # slot -> process, started
        self._stopping = False
        self._failed = False
        self._metrics_dir = Path()  # set by run(): made per start, removed at the end
        self.exit_codes: list[int] = []

    def run(self) -> int:
        if threading.active_count() > 1:
            # A fork copies only the calling thread: a lock another thread held stays held.
            raise RuntimeError("the supervisor must fork from a single-threaded process")
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        try:
            with tempfile.TemporaryDirectory(prefix="oor-bot-metrics-") as metrics_dir:
                self._metrics_dir = Path(metrics_dir)
                log.info("oor-bot processes share metrics", directory=metrics_dir)
                for slot in range(self._count):
                    self._start(slot)
                while self._children:
                    self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        clean = all(code in (0, -signal.SIGTERM) for code in self.exit_codes)
        status = 0 if clean and not self._failed else 1
        log.info("oor-bot processes stopped", exit_codes=self.exit_codes, status=status)
        return status

    @property
    def pids(self) -> list[int]:
        return [p.pid for p, _ in self._children.values() if p.pid is not None]

    def _on_signal(self, sig: int, _frame: FrameType | None) -> None:
        self._signals.append(sig)

    def _start(self, slot: int) -> None:
        process = _FORK.Process(
            target=_child_main,
            args=(self._target, self._sock, os.getpid(), self._metrics_dir),
            daemon=False,
        )
        # Until the child has its own handlers, a stop signal would reach this process's
        # handler copied into it, which only queues it there: lost, and the child would
        # never stop. Blocked across the fork, it waits for the child to unblock it.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        self._children[slot] = (process, self._clock())
        log.info("oor-bot process started", slot=slot, pid=process.pid)

    def _supervise(self) -> None:
        sentinels = {p.sentinel: slot for slot, (p, _) in self._children.items()}
        # Short: signals are handled between waits (the handler only records them).
        ended = {s for s in wait(list(sentinels), timeout=0.2) if isinstance(s, int)}
        self._handle_signals()
        for sentinel, slot in sentinels.items():
            if sentinel not in ended:
                continue
            process, started = self._children.pop(slot)
            process.join()
            if process.pid is not None:
                forget_process(self._metrics_dir, process.pid)
            code = process.exitcode if process.exitcode is not None else 1
            if self._stopping:
                self.exit_codes.append(code)
                continue
            lived = self._clock() - started
            if lived < self._startup_failure_seconds:
                log.error("oor-bot process failed to start: stopping", pid=process.pid, code=code)
                self.exit_codes.append(code)
                self._failed = True
                self._stop(signal.SIGTERM)
                continue
            log.error("oor-bot process died: starting another", pid=process.pid, code=code)
            self._start(slot)

    def _handle_signals(self) -> None:
        while self._signals:
            sig = self._signals.pop(0)
            if not self._stopping:
                log.info("oor-bot stopping every process", signal=signal.Signals(sig).name)
                # Every child drains (finishes in-flight requests and running jobs) as one
                # process does on SIGTERM.
                self._stop(signal.SIGTERM)
            elif sig == signal.SIGINT:
                self._stop(signal.SIGINT)  # a second Ctrl+C: the children give up at once

    def _stop(self, sig: signal.Signals) -> None:
        self._stopping = True
        for process, _ in self._children.values():
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, sig)


def _child_main(
    target: Callable[[socket.socket], None], sock: socket.socket, parent: int, metrics_dir: Path
) -> None:
    # The parent's handlers only queue signals for its own loop: give the child the
    # defaults until its server installs its own (a SIGTERM during start-up just ends it).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked by the parent
    threading.Thread(target=_stop_when_orphaned, args=(parent,), daemon=True).start()
    count_in_files(metrics_dir)  # before the target builds any metric
    target(sock)


def _stop_when_orphaned(parent: int) -> None:
    """If the parent is killed (SIGKILL, OOM), drain and stop rather than serve on unseen."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    log.warning("oor-bot parent process gone: stopping", parent=parent)
    os.kill(os.getpid(), signal.SIGTERM)
