"""Incident ids as people and forms write them, bounded to what the database can hold."""

from __future__ import annotations

import pytest

from bot.domain.types import MAX_ID, looks_like_incident_key, parse_id, parse_incident_key


@pytest.mark.parametrize(
    ("text", "number"),
    [("42", 42), (" OOR-42 ", 42), ("oor-7", 7), ("0042", 42), (str(MAX_ID), MAX_ID)],
)
def test_incident_keys(text: str, number: int) -> None:
    assert parse_incident_key(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "²",  # isdigit() is true for it; int() refuses it
        "OOR-²",
        "١٢",  # Arabic-Indic digits
        "9" * 5000,  # past int()'s 4,300-digit limit
        str(MAX_ID + 1),  # past PostgreSQL's INTEGER
        "99999999999",
        "0",
        "OOR-0",
        "-1",
        "OOR-",
        "4 2",
        "",
    ],
)
def test_ids_no_row_can_have_are_none(text: str) -> None:
    assert parse_incident_key(text) is None and parse_id(text) is None


def test_looks_like_a_key_even_when_no_incident_can_have_it() -> None:
    assert looks_like_incident_key("OOR-99999999999") and looks_like_incident_key("0")
    assert not looks_like_incident_key("OOR-²") and not looks_like_incident_key("latest")
