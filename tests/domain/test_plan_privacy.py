"""The plan's ``private`` / ``private_when`` as written in a plan file (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.plan import PlanError
from bot.domain.plan_file import load_plan, plan_summary
from bot.domain.types import OorType, Severity
from tests.support import EXAMPLE_PLAN

COMMENTED = "    # private_when: {severity: [sev1], labels: {data_class: pii}}\n"


def _plan_with(tmp_path: Path, line: str) -> Path:
    text = Path(EXAMPLE_PLAN).read_text(encoding="utf-8")
    assert COMMENTED in text  # the example documents the key where it goes
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace(COMMENTED, line), encoding="utf-8")
    return path


def test_private_when_from_the_plan_file(tmp_path: Path) -> None:
    plan = load_plan(_plan_with(tmp_path, COMMENTED.replace("# ", "", 1)))
    assert plan.opens_private(OorType.AMOUNT_ERROR, Severity.SEV1, {})
    assert plan.opens_private(OorType.AMOUNT_ERROR, Severity.SEV3, {"data_class": "pii"})
    assert not plan.opens_private(OorType.AMOUNT_ERROR, Severity.SEV3, {})
    assert not plan.opens_private(OorType.SYSTEM_CRASH, Severity.SEV1, {"data_class": "pii"})


def test_private_true_and_the_example_plan_opens_nothing_private(tmp_path: Path) -> None:
    assert not load_plan(EXAMPLE_PLAN).opens_private(OorType.AMOUNT_ERROR, Severity.SEV1, {})
    plan = load_plan(_plan_with(tmp_path, "    private: true\n"))
    assert plan.opens_private(OorType.AMOUNT_ERROR, Severity.SEV4, {})


def test_a_bad_private_when_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as error:
        load_plan(_plan_with(tmp_path, "    private_when: {severity: [sev9]}\n"))
    assert any("amount_error.private_when.severity" in p for p in error.value.problems)


def test_plan_check_says_which_types_are_private(tmp_path: Path) -> None:
    plan = load_plan(_plan_with(tmp_path, COMMENTED.replace("# ", "", 1)))
    [line] = [x for x in plan_summary(plan).splitlines() if x.startswith("  amount_error")]
    assert line.endswith("; private when sev1 or data_class=pii")
    assert "private" not in plan_summary(load_plan(EXAMPLE_PLAN))
