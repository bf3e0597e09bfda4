"""Block Kit surfaces, one per module, built with ``slack_sdk.models``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block

from bot.domain.types import parse_id
from bot.slack.text import MAX_BLOCKS


@dataclass(frozen=True)
class SlackMessage:
    """A message: blocks plus the plain ``text`` fallback Slack shows in notifications."""

    text: str
    blocks: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("every message needs a text fallback")
        if len(self.blocks) > MAX_BLOCKS:
            raise ValueError(f"{len(self.blocks)} blocks: Slack allows {MAX_BLOCKS}")

    def as_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"text": self.text}
        if self.blocks:
            args["blocks"] = [block.to_dict() for block in self.blocks]
        return args


def metadata_number(view: dict[str, Any]) -> int | None:
    """The incident number a modal carries in ``private_metadata``, or None.

    The bot writes it, but a submission is outside input like any other: anything else
    there (not a number, "²", past the id column's range) is answered cleanly, never with
    a traceback.
    """
    return parse_id(str(view.get("private_metadata") or ""))
