import pytest

from dsnlink.errors import InvalidInput
from dsnlink.pipeline.deadlines import due_date
from dsnlink.pipeline.months import check_month


@pytest.mark.parametrize("value", ["01/1900", "10/2026", "12/2099"])
def test_months_with_a_due_date_pass(value: str) -> None:
    assert check_month(value) == value
    due_date(value, 15)  # every accepted month has a due date


@pytest.mark.parametrize(
    "value", ["01/0000", "13/2026", "1/2026", "10/2026 ", "12/9999", "１０/2026", "10/20٢٦"]
)
def test_other_months_are_refused_in_french(value: str) -> None:
    with pytest.raises(InvalidInput, match="Mois incompréhensible"):
        check_month(value)


def test_no_month_means_the_default() -> None:
    assert check_month(None) is None and check_month("") is None
