"""Per-employer policies: the due days offered and the one in force."""

from __future__ import annotations

import pytest

from dsnlink.errors import InvalidInput
from dsnlink.pipeline.model import EmployerPolicy
from dsnlink.pipeline.policies import allowed_due_days, check_due_day, due_day_in_force


def test_the_days_offered_are_5_and_15_and_the_installations_own() -> None:
    assert allowed_due_days(15) == (5, 15)
    assert allowed_due_days(10) == (5, 15, 10)
    assert check_due_day(10, 10) == 10
    with pytest.raises(InvalidInput) as caught:
        check_due_day(10, 15)
    assert "le 5 ou le 15" in caught.value.message and "réglage" not in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        check_due_day(12, 10)
    assert "ou le 10, réglage de l'installation" in caught.value.message


def test_the_day_in_force_is_the_policys_then_the_employers_then_the_default() -> None:
    siret = "73282932000074"
    assert due_day_in_force(EmployerPolicy(siret, 5), 15, 15) == 5
    assert due_day_in_force(EmployerPolicy(siret, None, True), 15, 5) == 15
    assert due_day_in_force(None, 0, 10) == 10
