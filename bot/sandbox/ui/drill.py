"""The "Run drill" button: one scripted incident through all six steps, in a thread.

Every move takes the real path — the event through the webhook, each step as a signed
``/oor`` command, button click or form submission from the person the plan gives that
role — and the drill checks the channel after each one, as a person watching it would:
the customer notifications are drafted and approved, the post-mortem compiled from the
review form and published. One drill at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.sandbox.ui.session import OpenModal, SandboxError, SandboxSession

JSON = dict[str, Any]
ALICE, BOB, CAROL = "U01ALICE", "U02BOB", "U03CAROL"  # from bot.sandbox.workspace
DRILL_EVENT = {
    "type": "payment_failure",
    "title": "Drill: Alipay channel blocked",
    "severity": "sev2",
    "amount": "8800.00",
    "currency": "CNY",
    "merchant": "M-10086",
    "payment_method": "alipay",
}


@dataclass(frozen=True)
class Move:
    """What a person does, and the text that shows it worked.

    ``/oor <text>`` — then, with ``form``, fill in and submit the modal it opens; or, with
    ``press``, no command: press every button so labelled in the channel, once each.
    """

    label: str
    user_id: str
    text: str
    shows: str  # a substring of the board's text (or, with in_channel, of any message)
    in_channel: bool = False
    form: tuple[tuple[str, str], ...] = ()  # block id → value
    press: bool = False


REVIEW_FORM = (
    ("what_happened", "Alipay refused payments for merchant M-10086 for 20 minutes."),
    ("root_cause", "The acquirer's maintenance window was announced to nobody."),
    ("went_well", "The monitor opened the incident at once; the backup acquirer took over."),
    ("action_1_text", "Fail over to the backup acquirer on CHANNEL_BLOCKED automatically"),
    ("action_1_owner", BOB),
)


MOVES = (
    Move("1. Rapid response: alice acknowledges", ALICE, "ack", "✅ *1."),
    Move(
        "2. Record: bob records amount and currency",
        BOB,
        "record amount=8800.00 currency=CNY",
        "✅ *2.",
    ),
    Move(
        "3. Investigate: bob adds a finding",
        BOB,
        "investigate Alipay returns CHANNEL_BLOCKED for merchant M-10086",
        "🔄 *3.",
    ),
    Move("3. Investigate: bob finds the cause", BOB, "investigate --done", "✅ *3."),
    Move(
        "4. Resolve: bob switches to the backup acquirer",
        BOB,
        "resolve Switched Alipay traffic to the backup acquirer cause=partner",
        "✅ *4.",
    ),
    Move(
        "5. Notify: carol drafts the customer notifications",
        CAROL,
        "notify",
        "Customer notification",
        in_channel=True,
    ),
    Move("5. Notify: alice approves each draft", ALICE, "Approve", "✅ *5.", press=True),
    Move(
        "6. Review: alice compiles the post-mortem",
        ALICE,
        "review",
        "📝 Post-mortem v1",
        in_channel=True,
        form=REVIEW_FORM,
    ),
    Move("6. Review: alice publishes it", ALICE, "Publish", "✅ *6.", press=True),
    Move("Close: alice closes the incident", ALICE, "close", "(closed)"),
)


@dataclass
class DrillStep:
    label: str
    state: str = "pending"  # pending | running | done | failed
    detail: str = ""


@dataclass
class DrillRun:
    number: int
    pause: float
    state: str = "running"  # running | closed | failed | stopped
    incident: str = ""
    channel_id: str = ""
    error: str = ""
    steps: list[DrillStep] = field(default_factory=list)

    def to_json(self) -> JSON:
        return {
            "id": self.number,
            "state": self.state,
            "incident": self.incident,
            "channel_id": self.channel_id,
            "error": self.error,
            "steps": [vars(s).copy() for s in self.steps],
        }


class DrillFailed(Exception):
    pass


class Drill:
    def __init__(self, session: SandboxSession, *, timeout: float = 30.0) -> None:
        self._session = session
        self._timeout = timeout
        self._lock = threading.Lock()
        self._run: DrillRun | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._count = 0

    def start(self, pause: float) -> DrillRun | None:
        """Start a drill; ``None`` when one is already running."""
        with self._lock:
            if self._run is not None and self._run.state == "running":
                return None
            self._count += 1
            labels = ["Payment monitor fires an OOR event", "Bot opens the channel, pins the board"]
            run = DrillRun(self._count, max(0.0, pause))
            run.steps = [DrillStep(label) for label in labels + [m.label for m in MOVES]]
            self._run = run
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._play, args=(run,), name=f"sandbox-drill-{run.number}", daemon=True
            )
            self._thread.start()
            return run

    def snapshot(self) -> JSON | None:
        with self._lock:
            return None if self._run is None else self._run.to_json()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    # ------------------------------------------------------------------ the script
    def _play(self, run: DrillRun) -> None:
        try:
            self._step(run, 0, lambda: self._fire(run))
            self._step(run, 1, lambda: self._await_channel(run))
            for index, move in enumerate(MOVES, start=2):
                self._pause(run)
                act = self._press if move.press else self._command
                self._step(run, index, partial(act, run, move))
            self._set(run, state="closed")
        except DrillFailed as exc:
            self._set(run, state="stopped" if self._stop.is_set() else "failed", error=str(exc))
        except Exception as exc:  # the page must show it, never a dead "running"
            self._set(run, state="failed", error=f"{type(exc).__name__}: {exc}")

    def _step(self, run: DrillRun, index: int, work: Callable[[], str]) -> None:
        step = run.steps[index]
        self._set_step(step, "running")
        try:
            detail = work()
        except (DrillFailed, SandboxError) as exc:
            self._set_step(step, "failed", str(exc))
            raise DrillFailed(f"{step.label}: {exc}") from exc
        self._set_step(step, "done", detail)

    def _fire(self, run: DrillRun) -> str:
        outcome = self._session.fire_event(DRILL_EVENT)
        if not outcome.ok:
            raise DrillFailed(outcome.message)
        self._set(run, incident=str(outcome.data.get("incident_id") or ""))
        return outcome.message

    def _await_channel(self, run: DrillRun) -> str:
        number = run.incident.removeprefix("OOR-")
        prefix = f"oor-{number}-"

        def pinned_channel() -> str | None:
            for channel in self._session.emulator.snapshot()["channels"]:
                if channel["name"].startswith(prefix) and channel["pins"]:
                    return str(channel["id"])
            return None

        channel_id = self._wait(pinned_channel, f"the channel of {run.incident}")
        self._set(run, channel_id=channel_id)
        return f"#{self._session.emulator.channel(channel_id)['name']}"

    def _command(self, run: DrillRun, move: Move) -> str:
        views_before = {v["id"] for v in self._session.emulator.views}
        delivery = self._session.slash_command(move.user_id, run.channel_id, move.text)
        if delivery.status != 200:
            raise DrillFailed(f"the bot answered HTTP {delivery.status}")
        if move.form:
            answer = self._fill_in(move, views_before)
        else:
            answer = self._wait(
                partial(self._reply, delivery.response_token),
                f"the bot's answer to /oor {move.text}",
            )
        self._await_shown(run, move, answer)
        return f"/oor {move.text} → {answer}"

    def _fill_in(self, move: Move, views_before: set[str]) -> str:
        """Submit the form the command opened (not one the person left open on the page)."""

        def new_form() -> OpenModal | None:
            opened = self._session.open_modal(move.user_id)
            return opened if opened and opened.view["id"] not in views_before else None

        opened: OpenModal = self._wait(new_form, f"the form /oor {move.text} opens")
        outcome = self._session.submit_view(move.user_id, opened.view["id"], dict(move.form))
        if not outcome.ok:
            raise DrillFailed(
                f"the form was refused: {outcome.data.get('errors') or outcome.message}"
            )
        return f"form “{(opened.view.get('title') or {}).get('text', '')}” submitted"

    def _press(self, run: DrillRun, move: Move) -> str:
        """Press each button labelled ``move.text``, waiting for the bot to take each one."""
        pressed: set[tuple[str, str]] = set()
        while True:
            waiting = [b for b in self._buttons(run.channel_id, move.text) if b[:2] not in pressed]
            if not waiting:
                break
            ts, action_id, value = waiting[0]
            if pressed:
                self._pause(run, share=0.3)
            outcome = self._session.click(move.user_id, run.channel_id, ts, action_id, value)
            if not outcome.ok:
                raise DrillFailed(outcome.message)
            pressed.add((ts, action_id))

            def taken(ts: str = ts, action_id: str = action_id) -> bool:
                return all(b[:2] != (ts, action_id) for b in self._buttons(run.channel_id, None))

            try:
                self._wait(
                    taken, f"the bot to take “{move.text}”", timeout=min(self._timeout, 15.0)
                )
            except DrillFailed:
                said = self._reply(outcome.data.get("response_token"))
                raise DrillFailed(f"“{move.text}” was not taken; the bot said: {said}") from None
        if not pressed:
            raise DrillFailed(f"no “{move.text}” button in the channel")
        self._await_shown(run, move, "")
        return f"pressed {len(pressed)} × {move.text}"

    def _await_shown(self, run: DrillRun, move: Move, answer: str) -> None:
        def shown() -> bool:
            return move.shows in self._text(run.channel_id, board_only=not move.in_channel)

        where = "the channel" if move.in_channel else "the status board"
        try:
            self._wait(shown, where, timeout=min(self._timeout, 15.0))
        except DrillFailed:
            raise DrillFailed(f"{where} did not change; the bot said: {answer or '—'}") from None

    # ------------------------------------------------------------------ helpers
    def _reply(self, token: str | None) -> str:
        posts = self._session.emulator.responses(token) if token else []
        return str(posts[0].get("text") or "") if posts else ""

    def _text(self, channel_id: str, *, board_only: bool) -> str:
        """The text of the pinned board, or of every message (their blocks included)."""
        pinned = set(self._session.emulator.pins(channel_id))
        texts: list[str] = []
        for message in self._session.emulator.messages(channel_id):
            if board_only and message["ts"] not in pinned:
                continue
            texts.append(message.get("text") or "")
            for block in message.get("blocks") or []:
                texts.append(str((block.get("text") or {}).get("text") or ""))
        return "\n".join(texts)

    def _buttons(self, channel_id: str, label: str | None) -> list[tuple[str, str, str]]:
        """(message ts, action_id, value) of the channel's buttons (labelled ``label``)."""
        found = []
        for message in self._session.emulator.messages(channel_id):
            rows = [b for b in message.get("blocks") or [] if b.get("type") == "actions"]
            for element in (e for row in rows for e in row.get("elements") or []):
                text = (element.get("text") or {}).get("text")
                if element.get("type") == "button" and label in (None, text):
                    found.append((message["ts"], element["action_id"], element.get("value", "")))
        return found

    def _wait(self, check: Callable[[], Any], what: str, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        while True:
            value = check()
            if value:
                return value
            if self._stop.is_set():
                raise DrillFailed("stopped")
            if time.monotonic() > deadline:
                raise DrillFailed(f"timed out waiting for {what}")
            self._stop.wait(0.05)

    def _pause(self, run: DrillRun, share: float = 1.0) -> None:
        if run.pause and self._stop.wait(run.pause * share):
            raise DrillFailed("stopped")

    def _set(self, run: DrillRun, **changes: str) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(run, key, value)

    def _set_step(self, step: DrillStep, state: str, detail: str = "") -> None:
        with self._lock:
            step.state = state
            step.detail = detail
