"""Money in the spec's currency: ``[report] currency`` and how each language writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from peakend.errors import ConfigError
from peakend.report.i18n import money, money_ci
from peakend.spec import parse_spec
from peakend.stats.resampling import Interval

BASE = {
    "name": "x",
    "source": {"path": "x.csv"},
    "columns": {"journey_id": "id", "touchpoint": "t"},
}


def test_currency_is_read_from_the_report_table() -> None:
    spec = parse_spec({**BASE, "report": {"currency": "eur"}}, base_dir=Path("."))
    assert spec.currency == "EUR"
    assert parse_spec(BASE, base_dir=Path(".")).currency is None


@pytest.mark.parametrize("bad", ["euro", "€", 12])
def test_a_currency_that_is_not_a_code_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match="three-letter code"):
        parse_spec({**BASE, "report": {"currency": bad}}, base_dir=Path("."))


def test_each_language_writes_money_its_own_way() -> None:
    assert money(899.4, "EUR", "en") == "€899"
    assert money(899.4, "EUR", "nl") == "€\u00a0899"
    assert money(1234.0, "USD", "en") == "$1,234"
    assert money(1234.0, "EUR", "nl") == "€\u00a01.234"
    assert money(-12.0, "EUR", "en") == "-€12"
    assert money(899.0, "SEK", "en") == "SEK\u00a0899"
    assert money(899.0, None, "en") == "899"
    saved = Interval(899.0, 610.0, 1190.0, 100)
    assert money_ci(saved, "EUR", "en") == "€899 [€610, €1,190]"
    assert money_ci(saved, "EUR", "nl") == "€\u00a0899 [€\u00a0610; €\u00a01.190]"
