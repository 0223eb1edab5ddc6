"""Before/after proof of works (analytics/works.py) on constructed days: the baseline is the
signature before the works, the avoided energy is what it expects on the reporting days'
weather less what was measured, the works period is never used, and the errors say why."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
import json
import math
from statistics import NormalDist

import pytest

from custom_components.linky.analytics.signature import (
    NoModelReason,
    Signature,
    fit_signature,
)
from custom_components.linky.analytics.works import (
    NoWorksSavings,
    WorksError,
    WorksSavings,
    coefficient_variance,
    model_form_half,
    works_savings,
)
from custom_components.linky.analytics.works_text import render_works

START = date(2024, 1, 1)
WORKS = (date(2025, 1, 1), date(2025, 1, 31))


def climate(count: int) -> dict[date, float]:
    """Two years of distinct, spread temperatures (coldest on 1 January)."""
    return {
        START + timedelta(days=n): 11.0
        - 9.0 * math.cos(2 * math.pi * n / 365)
        + 3 * math.sin(2.3 * n)
        for n in range(count)
    }


def house(temps: dict[date, float], slope_after: float = 1.5) -> dict[date, float]:
    """8 kWh a day plus 1.5 kWh per degree-day below 16 °C; `slope_after` from the works."""
    return {
        day: 8.0 + (1.5 if day < WORKS[0] else slope_after) * max(0.0, 16.0 - t)
        for day, t in temps.items()
    }


def result(*args: object, **kwargs: object) -> WorksSavings:
    found = works_savings(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(found, WorksSavings), found
    return found


def test_the_avoided_energy_is_the_cut_heating() -> None:
    temps = climate(730)
    kwh = house(temps, slope_after=1.05)  # the heating slope cut by 30 %
    found = result(kwh, temps, *WORKS, price_eur_per_kwh=0.2)
    reporting = [d for d in kwh if d > WORKS[1]]
    heating = sum(1.5 * max(0.0, 16.0 - temps[d]) for d in reporting)
    assert found.reporting_days == len(reporting)
    assert (found.reporting_first, found.reporting_last) == (reporting[0], reporting[-1])
    assert (found.baseline_first, found.baseline_last) == (date(2024, 1, 2), date(2024, 12, 31))
    assert found.avoided_kwh == pytest.approx(0.3 * heating, rel=1e-9)
    assert found.expected_kwh == pytest.approx(sum(8.0 for _ in reporting) + heating, rel=1e-9)
    assert found.actual_kwh == pytest.approx(sum(kwh[d] for d in reporting))
    assert found.share == pytest.approx(found.avoided_kwh / found.expected_kwh)
    assert found.avoided_eur == pytest.approx(0.2 * found.avoided_kwh)
    assert found.avoided_low <= found.avoided_kwh <= found.avoided_high
    assert found.significant  # exact data: no uncertainty


def test_the_works_period_is_never_used() -> None:
    temps = climate(730)
    kwh = house(temps)
    for day in (WORKS[0] + timedelta(days=n) for n in range(31)):
        kwh[day] = 500.0  # scaffolding heaters, open walls
    found = result(kwh, temps, *WORKS)
    assert found.avoided_kwh == pytest.approx(0.0, abs=1e-6)
    assert found.reporting_first == WORKS[1] + timedelta(days=1)


def test_a_colder_reporting_year_is_weather_corrected() -> None:
    temps = climate(730)
    colder = {d: t - (2.0 if d > WORKS[1] else 0.0) for d, t in temps.items()}
    found = result(house(colder), colder, *WORKS)  # unchanged house: more kWh, same model
    assert found.actual_kwh > sum(house(temps)[d] for d in temps if d > WORKS[1])
    assert found.avoided_kwh == pytest.approx(0.0, abs=1e-6)


def test_savings_within_twice_their_uncertainty_are_not_significant() -> None:
    temps = climate(730)
    kwh = {d: v * (1 + 0.15 * math.sin(7.1 * n)) for n, (d, v) in enumerate(house(temps).items())}
    after = {d: v * (0.995 if d > WORKS[1] else 1.0) for d, v in kwh.items()}  # -0.5 %
    small = result(after, temps, *WORKS)
    assert small.uncertainty_kwh > abs(small.avoided_kwh) / 2
    assert not small.significant
    big = result({d: v * (0.7 if d > WORKS[1] else 1.0) for d, v in kwh.items()}, temps, *WORKS)
    assert big.significant


def test_excluded_days_and_a_reporting_end() -> None:
    temps = climate(730)
    kwh = house(temps, slope_after=1.05)
    holidays = frozenset(date(2025, 8, 1) + timedelta(days=n) for n in range(20))
    found = result(kwh, temps, *WORKS, holidays, reporting_end=date(2025, 9, 30))
    assert found.reporting_last == date(2025, 9, 30)
    assert found.reporting_days == (date(2025, 9, 30) - WORKS[1]).days - 20


def test_errors_say_why() -> None:
    temps = climate(730)
    kwh = house(temps)
    bad = works_savings(kwh, temps, WORKS[1], WORKS[0])
    assert bad == NoWorksSavings(WorksError.BAD_PERIOD)
    assert works_savings(kwh, temps, date(2025, 12, 1), date(2025, 12, 31)).error is (  # type: ignore[union-attr]
        WorksError.BAD_PERIOD
    )
    early = works_savings(kwh, temps, date(2024, 2, 1), date(2024, 2, 10))
    assert early == NoWorksSavings(WorksError.NO_BASELINE, NoModelReason.NOT_ENOUGH_DAYS)
    late = works_savings(kwh, temps, date(2025, 1, 1), date(2025, 12, 10))
    assert isinstance(late, NoWorksSavings)
    assert late.error is WorksError.NOT_ENOUGH_REPORTING_DAYS
    assert late.reporting_days == 20
    assert json.loads(json.dumps(late.as_dict())) == {
        "error": "not_enough_reporting_days",
        "baseline_reason": None,
        "reporting_days": 20,
    }


def test_as_dict_is_json() -> None:
    temps = climate(730)
    data = result(house(temps, slope_after=1.05), temps, *WORKS, price_eur_per_kwh=0.25).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["works_start"] == "2025-01-01"
    assert data["avoided_eur"] == pytest.approx(0.25 * data["avoided_kwh"], abs=0.05)
    assert data["level"] == 0.9
    assert data["baseline"]["kind"] == "heating"


def test_the_report_in_english_and_french() -> None:
    temps = climate(730)
    found = result(house(temps, slope_after=1.05), temps, *WORKS, price_eur_per_kwh=0.25)
    english = render_works(found, "25946599093143", "en")
    assert english.startswith("# Before/after works report: meter 25946599093143")
    assert "Works from 2025-01-01 to 2025-01-31 (left out)." in english
    assert f"**{found.avoided_kwh:,.0f}**" in english
    assert "significant" in english
    assert "It is not a CEE document" in english
    french = render_works(found, "25946599093143", "fr-FR")
    assert "Travaux du 01/01/2025 au 31/01/2025 (exclus)." in french
    assert f"{100 * found.share:.1f}".replace(".", ",") + " %" in french
    assert "pas un document CEE" in french
    assert "0,2500 EUR/kWh" in french


def test_a_bending_heating_carries_the_straight_form_in_its_interval() -> None:
    """A heat pump's baseline bends; on a colder reporting year the straight form predicts
    less, and the interval widens by that gap linearly (a systematic error), plus the gap's
    own sampling error in quadrature (the bending form's extra coefficient variance)."""
    temps = climate(730)
    reporting = {d: t - 2.0 for d, t in temps.items() if d > WORKS[1]}
    temps = {**temps, **reporting}
    noise = {d: 0.4 * math.sin(7.1 * n) for n, d in enumerate(temps)}
    kwh = {
        d: 6.0 + 0.8 * max(0.0, 16.0 - t) + 0.05 * max(0.0, 16.0 - t) ** 2 + noise[d]
        for d, t in temps.items()
    }
    found = result(kwh, temps, *WORKS)
    assert found.baseline.heating_bend is not None
    days = [reporting[d] for d in sorted(reporting)]
    expected, low, high = found.baseline.interval(days)
    assert found.expected_kwh == pytest.approx(expected)
    straight = fit_signature({d: v for d, v in kwh.items() if d < WORKS[0]}, temps, bend=False)
    assert isinstance(straight, Signature)
    assert straight.heating_bend is None
    gap = straight.interval(days)[0] - expected
    assert gap < 0  # the straight line under-predicts the colder days
    half = (high - low) / 2
    assert found.uncertainty_kwh == pytest.approx(
        model_form_half(
            half,
            gap,
            coefficient_variance(found.baseline, days),
            coefficient_variance(straight, days),
        )
    )
    assert found.uncertainty_kwh >= half + abs(gap) > math.hypot(half, gap)


def test_the_model_form_gap_adds_linearly_and_its_sampling_error_in_quadrature() -> None:
    z = NormalDist().inv_cdf(0.95)
    assert model_form_half(100.0, -30.0, 500.0, 500.0) == pytest.approx(130.0)
    assert model_form_half(100.0, 30.0, 500.0, 500.0) == pytest.approx(130.0)
    # a sampling error of 60 at 90 % (its variance (60 / z)²) and 80: 100, then the gap 10
    assert model_form_half(80.0, 10.0, (60.0 / z) ** 2 + 7.0, 7.0) == pytest.approx(110.0)
    assert model_form_half(80.0, 10.0, 0.0, 50.0) == pytest.approx(90.0)  # no negative variance
    assert model_form_half(80.0, 0.0, 0.0, 0.0) == pytest.approx(80.0)


def test_the_coefficient_variance_of_a_total() -> None:
    """x0' C x0, x0 the days' summed design rows: 2 days at 10 and 12 °C, a 16 °C heating
    balance: x0 = (2, 6 + 4)."""
    temps = climate(365)
    straight = fit_signature(house(temps), temps, bend=False)
    assert isinstance(straight, Signature)
    assert straight.heating_balance == 16.0
    assert straight.heating_bend is None
    identity = replace(straight, covariance=((1.0, 0.0), (0.0, 1.0)))
    assert coefficient_variance(identity, [10.0, 12.0]) == pytest.approx(4.0 + 100.0)
    correlated = replace(straight, covariance=((1.0, 0.5), (0.5, 2.0)))
    assert coefficient_variance(correlated, [10.0, 12.0, 20.0]) == pytest.approx(
        9.0 + 2 * 0.5 * 3 * 10 + 2.0 * 100
    )
