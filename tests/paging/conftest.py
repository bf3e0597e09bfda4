"""A plain HTTP receiver for the signed pager webhook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.http_receiver import Received, Receiver, serving_receiver

__all__ = ["Received", "Receiver"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving_receiver("/pager") as state:
        yield state
