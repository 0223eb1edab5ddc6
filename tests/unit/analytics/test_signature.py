"""Energy signature (analytics/signature.py) on constructed days: exact lines recover their
coefficients and balance points, the candidates' rules (positive coefficients, significance),
outliers, sufficiency reasons, provisional models, the ASHRAE figures on a hand-computed
case, normal-year degree-days, prediction intervals, the scatter points."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
import json
import math

import numpy as np
import pytest

from custom_components.linky.analytics.degree_days import Sums, select
from custom_components.linky.analytics.signature import (
    Goodness,
    Grade,
    ModelKind,
    NoModelReason,
    NormalYear,
    NoSignature,
    PointStatus,
    Signature,
    fit_signature,
    goodness,
    points,
)

START = date(2024, 1, 1)


def days(count: int, first: date = START) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def climate(
    count: int, mean: float = 11.0, amplitude: float = 9.0, first: date = START
) -> dict[date, float]:
    """A seasonal curve (coldest on 1 January) with a deterministic day-to-day wiggle, so
    that the temperatures are spread and distinct."""
    return {
        day: mean
        - amplitude * math.cos(2 * math.pi * (day.timetuple().tm_yday - 1) / 365)
        + 3 * math.sin(2.3 * n)
        for n, day in enumerate(days(count, first))
    }


def exact(
    temps: dict[date, float],
    base: float,
    heating: tuple[float, float] | None = None,
    cooling: tuple[float, float] | None = None,
) -> dict[date, float]:
    """kWh on the model's line: heating and cooling are (slope, balance)."""
    result = {}
    for day, t in temps.items():
        kwh = base
        if heating:
            kwh += heating[0] * max(0.0, heating[1] - t)
        if cooling:
            kwh += cooling[0] * max(0.0, t - cooling[1])
        result[day] = kwh
    return result


def fitted(*args: object, **kwargs: object) -> Signature:
    result = fit_signature(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Signature), result
    return result


def test_exact_heating_line_is_recovered() -> None:
    temps = climate(365)
    kwh = exact(temps, 8.0, heating=(1.5, 16.0))
    s = fitted(kwh, temps)
    assert s.kind is ModelKind.HEATING
    assert s.base_kwh == pytest.approx(8.0, abs=1e-9)
    assert s.heating_slope == pytest.approx(1.5, abs=1e-9)
    assert s.heating_balance == 16.0
    assert s.cooling_slope is None
    assert s.cooling_balance is None
    assert s.heating_bend is None  # a straight line does not bend
    assert s.adjusted_r2 == pytest.approx(1.0)
    assert (s.days_used, s.days_outliers, s.days_missing, s.provisional) == (365, 0, 0, False)
    assert s.expected_kwh(6.0) == pytest.approx(8.0 + 1.5 * 10)
    assert s.expected_kwh(20.0) == pytest.approx(8.0)
    heating = sum(1.5 * max(0.0, 16.0 - t) for t in temps.values())
    assert s.heating_share == pytest.approx(heating / sum(kwh.values()))
    assert s.daily.cvrmse == pytest.approx(0.0, abs=1e-9)
    assert s.monthly is not None
    assert s.monthly.cvrmse == pytest.approx(0.0, abs=1e-9)
    assert s.grade is Grade.GOOD


def test_a_bending_heating_keeps_its_balance_and_gets_its_bend() -> None:
    # a heat pump's kWh per degree-day grows in the cold: 1 kWh per degree-day at the
    # balance, + 0.06 kWh per degree-day²; the best straight line meets the base below 16 °C
    temps = climate(365)
    kwh = {
        day: 8.0 + 1.0 * max(0.0, 16.0 - t) + 0.06 * max(0.0, 16.0 - t) ** 2
        for day, t in temps.items()
    }
    t, y = np.array(list(temps.values())), np.array(list(kwh.values()))
    straight = select(Sums.of(t, y), 1.0, 3.0)[0]
    assert straight is not None
    assert straight.balances[0] is not None
    assert straight.balances[0] < 15.0
    s = fitted(kwh, temps, normal=NormalYear((6.0,) * 365))
    assert s.kind is ModelKind.HEATING
    assert s.heating_balance == 16.0
    assert s.base_kwh == pytest.approx(8.0, abs=1e-6)
    assert s.heating_slope == pytest.approx(1.0, abs=1e-6)
    assert s.heating_bend == pytest.approx(0.06, abs=1e-8)
    assert s.expected_kwh(6.0) == pytest.approx(8.0 + 10.0 + 6.0)
    heating = sum(v - 8.0 for v in kwh.values())
    assert s.heating_share == pytest.approx(heating / sum(kwh.values()))
    assert s.normal_year_kwh == pytest.approx(365 * (8.0 + 10.0 + 6.0))
    assert s.as_dict()["heating_bend"] == pytest.approx(0.06)


def test_exact_cooling_line_is_recovered() -> None:
    temps = climate(365, mean=22.0, amplitude=8.0)
    s = fitted(exact(temps, 5.0, cooling=(0.8, 20.0)), temps)
    assert s.kind is ModelKind.COOLING
    assert s.base_kwh == pytest.approx(5.0, abs=1e-9)
    assert (s.cooling_slope, s.cooling_balance) == (pytest.approx(0.8, abs=1e-9), 20.0)
    assert s.heating_slope is None
    assert s.heating_share == 0.0


def test_exact_heating_and_cooling_are_recovered() -> None:
    temps = climate(365, mean=16.0, amplitude=11.0)
    s = fitted(exact(temps, 6.0, heating=(1.2, 15.0), cooling=(0.9, 22.0)), temps)
    assert s.kind is ModelKind.HEATING_COOLING
    assert s.base_kwh == pytest.approx(6.0, abs=1e-9)
    assert (s.heating_slope, s.heating_balance) == (pytest.approx(1.2, abs=1e-9), 15.0)
    assert (s.cooling_slope, s.cooling_balance) == (pytest.approx(0.9, abs=1e-9), 22.0)
    assert s.expected_kwh(5.0) == pytest.approx(6.0 + 12.0)
    assert s.expected_kwh(25.0) == pytest.approx(6.0 + 2.7)


def test_unheated_home_is_intercept_only() -> None:
    temps = climate(365)
    kwh = {day: 8.0 + (1.0 if n % 2 else -1.0) for n, day in enumerate(temps)}
    s = fitted(kwh, temps)
    assert s.kind is ModelKind.INTERCEPT
    assert s.base_kwh == pytest.approx(sum(kwh.values()) / 365)
    assert (s.heating_slope, s.heating_balance, s.cooling_slope) == (None, None, None)
    assert s.heating_share == 0.0
    assert s.adjusted_r2 == 0.0
    assert s.expected_kwh(-5.0) == s.expected_kwh(30.0) == pytest.approx(s.base_kwh)


def test_a_negative_heating_slope_is_rejected() -> None:
    """Exactly on a line that takes less when it is colder: the heating candidate fits
    perfectly but its slope is negative."""
    temps = climate(365)
    s = fitted(exact(temps, 20.0, heating=(-0.5, 16.0)), temps)
    assert s.kind is not ModelKind.HEATING
    assert s.heating_slope is None
    assert s.adjusted_r2 < 0.999


def test_a_negative_base_is_rejected() -> None:
    temps = climate(365)
    s = fitted(exact(temps, -3.0, heating=(1.5, 16.0)), temps)
    assert s.base_kwh >= 0
    assert s.adjusted_r2 < 0.999  # not the exact line


@pytest.mark.parametrize(
    ("cold", "why"),
    [
        ([10.0 + 0.5 * k for k in range(9)], "9 days with degree-days"),
        ([15.5 + 0.04 * k for k in range(12)], "12 days, 3.4 degree-days"),
    ],
)
def test_a_balance_needs_enough_degree_days(cold: list[float], why: str) -> None:
    """Exactly on 8 + 2 HDD(16), but too few heating degree-days below 16 °C (and none
    between 16 and 18): the exact heating line does not qualify."""
    warm = [18.0 + 12.0 * k / (365 - len(cold)) for k in range(365 - len(cold))]
    temps = dict(zip(days(365), cold + warm, strict=True))
    s = fitted(exact(temps, 8.0, heating=(2.0, 16.0)), temps)
    assert s.heating_balance != 16.0, why
    assert s.adjusted_r2 < 0.999, why


def test_a_weak_slope_needs_significance() -> None:
    """A slope of a t-statistic about 2: better than the intercept by adjusted R² (enough
    without the screen), not significant with it."""
    temps = climate(365)
    hdd = np.array([max(0.0, 16.0 - t) for t in temps.values()])
    noise = np.array([1.0 if n % 2 else -1.0 for n in range(365)])
    y = 8.0 + 0.02 * hdd + noise
    slope, intercept = np.polyfit(hdd, y, 1)
    residuals = y - intercept - slope * hdd
    se = math.sqrt(residuals @ residuals / 363 / ((hdd - hdd.mean()) ** 2).sum())
    assert 1.2 < slope / se < 2.8  # the case is what it says
    kwh = dict(zip(temps, y.tolist(), strict=True))
    assert fitted(kwh, temps, min_t=0.0).kind is ModelKind.HEATING
    assert fitted(kwh, temps).kind is ModelKind.INTERCEPT


def test_outliers_are_left_out_and_the_fit_redone() -> None:
    temps = climate(365)
    kwh = exact(temps, 8.0, heating=(1.5, 16.0))
    kwh = {day: v + (0.5 if n % 2 else -0.5) for n, (day, v) in enumerate(kwh.items())}
    spikes = {START + timedelta(days=n) for n in (150, 200, 250)}
    for day in spikes:
        kwh[day] += 25.0
    s = fitted(kwh, temps)
    assert s.days_outliers == 3
    assert s.outliers == spikes
    assert s.days_used == 362
    assert s.base_kwh == pytest.approx(8.0, abs=0.1)
    assert s.heating_slope == pytest.approx(1.5, abs=0.02)
    assert s.heating_balance == 16.0
    # a year's total has the left-out days on average: here exactly the days' total
    assert s.interval(temps.values())[0] == pytest.approx(sum(kwh.values()))
    assert s.expected_kwh(20.0) == pytest.approx(s.base_kwh)  # a usual day has not
    status = {p.day: p.status for p in points(kwh, temps, signature=s)}
    assert {d for d, v in status.items() if v is PointStatus.OUTLIER} == spikes


def test_no_data_or_no_temperature() -> None:
    assert fit_signature({}, {}) == NoSignature(NoModelReason.NOT_ENOUGH_DAYS)
    kwh = dict.fromkeys(days(400), 10.0)
    assert fit_signature(kwh, {}) == NoSignature(NoModelReason.NO_TEMPERATURE)


def test_not_enough_days() -> None:
    temps = climate(89)
    result = fit_signature(exact(temps, 8.0, heating=(1.5, 16.0)), temps)
    assert isinstance(result, NoSignature)
    assert result.reason is NoModelReason.NOT_ENOUGH_DAYS
    assert result.days_used == 89


def test_excluded_days_do_not_count_as_used() -> None:
    temps = climate(100)
    excluded = frozenset(days(11))
    result = fit_signature(exact(temps, 8.0, heating=(1.5, 16.0)), temps, excluded)
    assert isinstance(result, NoSignature)
    assert (result.reason, result.days_used) == (NoModelReason.NOT_ENOUGH_DAYS, 89)


def test_not_enough_heating_days_for_a_provisional_model() -> None:
    temps = climate(120, mean=16.0, first=date(2024, 5, 15))  # a warm summer
    heating_days = sum(1 for t in temps.values() if t < 16)
    assert heating_days < 30
    result = fit_signature(exact(temps, 8.0, heating=(1.5, 16.0)), temps)
    assert isinstance(result, NoSignature)
    assert result.reason is NoModelReason.NOT_ENOUGH_HEATING_DAYS
    assert (result.days_used, result.heating_days) == (120, heating_days)
    assert result.as_dict()["reason"] == "not_enough_heating_days"


def test_a_winter_gives_a_provisional_model() -> None:
    temps = climate(100, first=date(2024, 9, 1))  # mild days, then colder ones
    s = fitted(exact(temps, 8.0, heating=(1.5, 16.0)), temps)
    assert s.provisional
    assert (s.kind, s.heating_balance) == (ModelKind.HEATING, 16.0)
    assert s.heating_slope == pytest.approx(1.5, abs=1e-9)


def test_full_model_needs_a_year_with_at_most_ten_percent_missing() -> None:
    temps = climate(400)
    kwh = exact(temps, 8.0, heating=(1.5, 16.0))
    last = max(kwh)
    window = [last - timedelta(days=n) for n in range(365)]
    for holes, provisional in ((36, False), (37, True)):
        gappy = {d: v for d, v in kwh.items() if d not in window[100 : 100 + holes]}
        s = fitted(gappy, temps)
        assert (s.days_missing, s.provisional) == (holes, provisional)
    young = {d: v for d, v in kwh.items() if d > last - timedelta(days=340)}
    assert fitted(young, temps).provisional  # complete, but not a year yet


def test_excluded_days_are_not_missing() -> None:
    temps = climate(365)
    excluded = frozenset(days(60, START + timedelta(days=200)))
    kwh = exact(temps, 8.0, heating=(1.5, 16.0))
    for with_data in (True, False):
        if not with_data:  # incomplete days the caller dropped and flagged
            kwh = {d: v for d, v in kwh.items() if d not in excluded}
        s = fitted(kwh, temps, excluded)
        assert (s.days_used, s.days_excluded, s.days_missing) == (305, 60, 0)
        assert not s.provisional


def test_cooling_balance_is_not_below_the_heating_one() -> None:
    """Exactly 10 + 2 HDD(18) + CDD(12): a model with the cooling balance below the heating
    one would fit it exactly; it is not a candidate."""
    temps = climate(365, mean=15.0, amplitude=10.0)
    s = fitted(exact(temps, 10.0, heating=(2.0, 18.0), cooling=(1.0, 12.0)), temps)
    assert s.adjusted_r2 < 0.999
    if s.kind is ModelKind.HEATING_COOLING:
        assert s.cooling_balance is not None
        assert s.heating_balance is not None
        assert s.cooling_balance >= s.heating_balance


def test_goodness_on_a_hand_computed_case() -> None:
    # residuals -1, 0, 2; 3 values, 1 parameter; mean 12
    figures = goodness([10.0, 12.0, 14.0], [11.0, 12.0, 12.0], parameters=1)
    assert figures.cvrmse == pytest.approx(math.sqrt(5 / 2) / 12)
    assert figures.nmbe == pytest.approx(1 / (2 * 12))
    out_of_sample = goodness([10.0, 12.0, 14.0], [11.0, 12.0, 12.0])
    assert out_of_sample.cvrmse == pytest.approx(math.sqrt(5 / 3) / 12)
    assert out_of_sample.nmbe == pytest.approx(1 / 36)
    with pytest.raises(ValueError, match="predictions"):
        goodness([1.0], [1.0], parameters=1)


def test_grades() -> None:
    assert Goodness(0.15, 0.05).grade is Grade.GOOD
    assert Goodness(0.15, -0.05).grade is Grade.GOOD
    assert Goodness(0.16, 0.0).grade is Grade.FAIR
    assert Goodness(0.10, -0.06).grade is Grade.FAIR
    assert Goodness(0.26, 0.0).grade is Grade.POOR
    assert Goodness(0.10, 0.11).grade is Grade.POOR


def test_normal_year_degree_days() -> None:
    flat = NormalYear((6.0,) * 365)
    assert flat.degree_days(16.0, heating=True) == pytest.approx(np.full(365, 10.0))
    assert flat.degree_days(16.0, heating=False) == pytest.approx(np.zeros(365))
    spread = NormalYear((16.0,) * 365, spread=3.0)  # E[max(0, 3 Z)] = 3 / sqrt(2 pi)
    assert spread.degree_days(16.0, heating=True)[0] == pytest.approx(3 / math.sqrt(2 * math.pi))
    far = NormalYear((0.0,) * 365, spread=3.0)  # 16 °C above: the spread hardly matters
    assert far.degree_days(16.0, heating=True)[0] == pytest.approx(16.0, abs=1e-6)
    assert flat.squared_heating(16.0) == pytest.approx(np.full(365, 100.0))
    assert spread.squared_heating(16.0)[0] == pytest.approx(4.5)  # E[max(0, 3 Z)²] = 9 / 2
    assert far.squared_heating(16.0)[0] == pytest.approx(16.0**2 + 9.0, abs=1e-6)
    curve = NormalYear.seasonal(mean=12.0, amplitude=7.5, coldest_day=15, spread=0.0)
    assert curve.temperatures[14] == pytest.approx(4.5)
    assert sum(curve.temperatures) / 365 == pytest.approx(12.0)


def test_normal_year_consumption() -> None:
    temps = climate(365)
    s = fitted(exact(temps, 8.0, heating=(1.5, 16.0)), temps, normal=NormalYear((6.0,) * 365))
    assert s.normal_year_kwh == pytest.approx(365 * (8.0 + 15.0))
    # exact data: no residual, no parameter uncertainty
    assert s.normal_year_low == pytest.approx(s.normal_year_kwh, abs=1e-6)
    assert s.normal_year_high == pytest.approx(s.normal_year_kwh, abs=1e-6)


def test_prediction_interval_of_independent_residuals() -> None:
    """Intercept only, residuals +-1 alternating (no positive autocorrelation): over the
    365 days the variance is 365 s² (the mean's) + 365 s² (the days'), s² = 365 / 364."""
    temps = climate(365)
    kwh = {day: 8.0 + (1.0 if n % 2 else -1.0) for n, day in enumerate(temps)}
    s = fitted(kwh, temps)
    assert s.autocorrelation == 0.0
    expected, low, high = s.interval(temps.values())
    assert expected == pytest.approx(sum(kwh.values()))
    t_95_364 = 1.6490
    assert (high - low) / 2 == pytest.approx(t_95_364 * math.sqrt(730 * 365 / 364), rel=1e-3)


def test_prediction_interval_widens_with_autocorrelation() -> None:
    """Residuals +1 five days then -1 five days: lag-1 autocorrelation (8 - 2) / 10 = 0.6,
    variances x (1 + 0.6) / (1 - 0.6) = 4: the interval twice as wide."""
    temps = climate(365)
    alternating = {day: 8.0 + (1.0 if n % 2 else -1.0) for n, day in enumerate(temps)}
    blocks = {day: 8.0 + (1.0 if (n // 5) % 2 else -1.0) for n, day in enumerate(temps)}
    a, b = fitted(alternating, temps), fitted(blocks, temps)
    assert b.kind is ModelKind.INTERCEPT
    assert b.autocorrelation == pytest.approx(0.6, abs=0.01)
    width_a = a.interval(temps.values())[2] - a.interval(temps.values())[1]
    width_b = b.interval(temps.values())[2] - b.interval(temps.values())[1]
    assert width_b / width_a == pytest.approx(2.0, rel=0.03)


def test_coefficients_covariance_is_whites() -> None:
    """Noise growing with the heating (cold days vary more): the coefficients' covariance
    is the heteroscedasticity-consistent one, (X'X)^-1 X' diag(r²) X (X'X)^-1 n / (n - p),
    not s² (X'X)^-1."""
    temps = climate(365)
    kwh = {
        day: v + (0.3 if n % 2 else -0.3) * max(0.0, 16.0 - temps[day])
        for n, (day, v) in enumerate(exact(temps, 8.0, heating=(1.5, 16.0)).items())
    }
    s = fitted(kwh, temps)
    assert (s.kind, s.heating_balance, s.autocorrelation) == (ModelKind.HEATING, 16.0, 0.0)
    x = np.column_stack([np.ones(365), [max(0.0, 16.0 - t) for t in temps.values()]])
    r = np.array(list(kwh.values())) - x @ np.array([s.base_kwh, s.heating_slope])
    bread = np.linalg.inv(x.T @ x)
    white = bread @ (x.T @ (x * (r * r)[:, None])) @ bread * 365 / 363
    classic = bread * (r @ r) / 363
    assert np.array(s.covariance) == pytest.approx(white, rel=1e-6)
    assert not np.allclose(white, classic, rtol=0.2)


def test_the_outliers_variance_has_few_degrees_of_freedom() -> None:
    """Only the outliers' part of the variance: 4 outliers give the interval 4 degrees of
    freedom (Welch-Satterthwaite), t(0.95, 4) = 2.132; the part is the days' outlier
    variance and its estimate's, 365 x 1 x (1 + 365 / 365)."""
    temps = climate(365)
    exact_fit = fitted(exact(temps, 8.0, heating=(1.5, 16.0)), temps)
    s = replace(exact_fit, outlier_variance=1.0, days_outliers=4, days_used=361)
    expected, low, high = s.interval(temps.values())
    assert expected == pytest.approx(sum(exact(temps, 8.0, heating=(1.5, 16.0)).values()))
    assert (high - low) / 2 == pytest.approx(2.132 * math.sqrt(730), rel=0.01)


def test_points_tell_how_each_day_counts() -> None:
    temps = climate(400)
    kwh = exact(temps, 8.0, heating=(1.5, 16.0))
    no_temperature = START + timedelta(days=390)
    del temps[no_temperature]
    excluded = frozenset({START + timedelta(days=380)})
    s = fitted(kwh, temps, excluded)
    result = points(kwh, temps, excluded, s)
    assert len(result) == 399
    by_day = {p.day: p for p in result}
    assert no_temperature not in by_day
    assert by_day[START + timedelta(days=380)].status is PointStatus.EXCLUDED
    assert by_day[START].status is PointStatus.OUTSIDE
    assert by_day[START + timedelta(days=399)].used
    assert sum(p.used for p in result) == s.days_used
    assert by_day[START].as_dict() == {
        "day": "2024-01-01",
        "temperature": round(temps[START], 4),
        "kwh": round(kwh[START], 4),
        "status": "outside",
    }
    assert all(p.status is not PointStatus.OUTSIDE for p in points(kwh, temps, excluded))


def test_as_dict_is_json() -> None:
    temps = climate(365)
    data = fitted(exact(temps, 8.0, heating=(1.5, 16.0)), temps).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["kind"] == "heating"
    assert data["heating_balance"] == 16.0
    assert data["cooling_slope"] is None
    assert data["grade"] == "good"
    assert {"cvrmse_daily", "nmbe_monthly", "normal_year_low", "days_outliers"} <= set(data)
    assert "covariance" not in data
    assert "outliers" not in data
