"""Tariff engine: totals hand-computed to the cent for Base, HP/HC and Tempo across DST days,
the 06:00 Tempo boundary, a price change, half-hour off-peak windows, subscription proration,
production revenue and missing Tempo colours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
import json
import math

import pytest

from custom_components.linky.energy.hourly import day_hours
from custom_components.linky.energy.pricing import TariffEngine
from custom_components.linky.energy.regulated import DEFAULT_TARIFFS, default_tariff
from custom_components.linky.energy.tariffs import (
    OPTION_BUCKETS,
    Bucket,
    BuybackPeriod,
    ColourUnknownError,
    ContractOption,
    NoTariffPeriodError,
    OffPeakWindow,
    Tariff,
    TariffError,
    TariffPeriod,
)
from custom_components.linky.energy.tempo_calendar import TempoColour
from custom_components.linky.localtime import PARIS

D = Decimal
SPRING = date(2026, 3, 29)  # 23 hours
AUTUMN = date(2025, 10, 26)  # 25 hours
HPHC_AUG_2025 = {Bucket.HP: D("0.2081"), Bucket.HC: D("0.1635")}
HPHC_FEB_2026 = {Bucket.HP: D("0.2065"), Bucket.HC: D("0.1579")}
TEMPO_PRICES = {
    Bucket.BLUE_HP: D("0.1612"),
    Bucket.BLUE_HC: D("0.1325"),
    Bucket.WHITE_HP: D("0.1871"),
    Bucket.WHITE_HC: D("0.1499"),
    Bucket.RED_HP: D("0.7060"),
    Bucket.RED_HC: D("0.1575"),
}
HALF_HOUR_WINDOW = (OffPeakWindow(time(22, 30), time(6, 30)),)


def local(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """A Europe/Paris instant."""
    return datetime.combine(day, time(hour, minute, fold=fold), PARIS)


def flat(days: list[date], wh: float = 1000) -> dict[datetime, float]:
    """`wh` in every UTC hour of the local `days`."""
    return {hour: wh for day in days for hour in day_hours(day)}


def total(rows: dict[datetime, float]) -> float:
    """Sum of hourly values, rounded to the cent."""
    return round(math.fsum(rows.values()), 2)


def hphc(
    *periods: tuple[date, dict[Bucket, Decimal]],
    windows: tuple[OffPeakWindow, ...] = HALF_HOUR_WINDOW,
) -> Tariff:
    """An HP/HC tariff with the given dated prices."""
    return Tariff(
        tuple(
            TariffPeriod(start, ContractOption.HPHC, prices, windows) for start, prices in periods
        )
    )


def tempo_tariff() -> Tariff:
    """A Tempo tariff with the 2026-02-01 prices, in force since 2025-09-01."""
    return Tariff((TariffPeriod(date(2025, 9, 1), ContractOption.TEMPO, TEMPO_PRICES),))


# --- Base --------------------------------------------------------------------------------


def test_base_over_both_dst_days_and_a_price_change() -> None:
    """23 h x 0.1940 on the March day and 25 h x 0.1952 on the October day."""
    tariff = Tariff(
        (
            TariffPeriod(date(2025, 8, 1), ContractOption.BASE, {Bucket.BASE: D("0.1952")}),
            TariffPeriod(date(2026, 2, 1), ContractOption.BASE, {Bucket.BASE: D("0.1940")}),
        )
    )
    result = TariffEngine(tariff).compute(flat([AUTUMN, SPRING]))
    assert len(result.total_energy_cost) == 48
    spring = {
        h: v for h, v in result.total_energy_cost.items() if h >= datetime(2026, 1, 1, tzinfo=UTC)
    }
    assert total(spring) == 4.46  # 23 x 0.1940 = 4.462
    assert total(result.total_energy_cost) - total(spring) == pytest.approx(4.88)  # 25 x 0.1952
    assert total(result.energy_wh[Bucket.BASE]) == 48000
    assert result.energy_cost.keys() == {Bucket.BASE}


# --- HP/HC -------------------------------------------------------------------------------


def test_hphc_half_hour_window_splits_boundary_hours_pro_rata() -> None:
    """22:30-06:30 on an ordinary day: 8 h off-peak, the 22 h and 06 h hours split 50/50."""
    day = date(2026, 4, 15)
    result = TariffEngine(hphc((date(2026, 2, 1), HPHC_FEB_2026))).compute(flat([day]))
    assert total(result.energy_wh[Bucket.HC]) == 8000
    assert total(result.energy_wh[Bucket.HP]) == 16000
    at_22 = local(day, 22).astimezone(UTC)
    at_06 = local(day, 6).astimezone(UTC)
    for hour in (at_22, at_06):
        assert result.energy_wh[Bucket.HC][hour] == 500
        assert result.energy_wh[Bucket.HP][hour] == 500
    assert result.energy_wh[Bucket.HC][local(day, 23).astimezone(UTC)] == 1000
    assert result.energy_wh[Bucket.HP][local(day, 7).astimezone(UTC)] == 1000
    # 16 x 0.2065 + 8 x 0.1579 = 3.304 + 1.2632
    assert total(result.total_energy_cost) == 4.57
    assert result.energy_cost[Bucket.HC][at_22] == pytest.approx(0.5 * 0.1579)


def test_hphc_on_the_march_dst_day() -> None:
    """00-02 and 03-06:30 plus 22:30-24 = 7 h off-peak out of 23."""
    result = TariffEngine(hphc((date(2026, 2, 1), HPHC_FEB_2026))).compute(flat([SPRING]))
    assert total(result.energy_wh[Bucket.HC]) == 7000
    assert total(result.energy_wh[Bucket.HP]) == 16000
    # 03:00 CEST is 01:00 UTC: fully off-peak.
    assert result.energy_wh[Bucket.HC][datetime(2026, 3, 29, 1, tzinfo=UTC)] == 1000
    # 16 x 0.2065 + 7 x 0.1579 = 3.304 + 1.1053 = 4.4093
    assert total(result.total_energy_cost) == 4.41


def test_hphc_on_the_october_dst_day() -> None:
    """The repeated 02:00 hour is off-peak twice: 9 h off-peak out of 25."""
    result = TariffEngine(hphc((date(2025, 8, 1), HPHC_AUG_2025))).compute(flat([AUTUMN]))
    hc = result.energy_wh[Bucket.HC]
    assert hc[local(AUTUMN, 2).astimezone(UTC)] == 1000  # 00:00 UTC, 02:00 CEST
    assert hc[local(AUTUMN, 2, fold=1).astimezone(UTC)] == 1000  # 01:00 UTC, 02:00 CET
    assert hc[datetime(2025, 10, 26, 5, tzinfo=UTC)] == 500  # 06:00 CET: half off-peak
    assert total(hc) == 9000
    assert total(result.energy_wh[Bucket.HP]) == 16000
    # 16 x 0.2081 + 9 x 0.1635 = 3.3296 + 1.4715 = 4.8011
    assert total(result.total_energy_cost) == 4.80


def test_hphc_price_change_applies_from_local_midnight() -> None:
    """31 Jan at the August 2025 prices, 1 Feb at the February 2026 prices (22:00-06:00)."""
    tariff = hphc(
        (date(2025, 8, 1), HPHC_AUG_2025),
        (date(2026, 2, 1), HPHC_FEB_2026),
        windows=(OffPeakWindow(time(22), time(6)),),
    )
    jan31, feb1 = date(2026, 1, 31), date(2026, 2, 1)
    result = TariffEngine(tariff).compute(flat([jan31, feb1]))
    split = local(feb1, 0).astimezone(UTC)
    before = {h: v for h, v in result.total_energy_cost.items() if h < split}
    after = {h: v for h, v in result.total_energy_cost.items() if h >= split}
    assert total(before) == 4.64  # 16 x 0.2081 + 8 x 0.1635 = 4.6376
    assert total(after) == 4.57  # 16 x 0.2065 + 8 x 0.1579 = 4.5672
    assert total(result.total_energy_cost) == 9.20  # 9.2048
    # The last hour before midnight is the old off-peak price, the first after the new one.
    assert result.energy_cost[Bucket.HC][split - timedelta(hours=1)] == pytest.approx(0.1635)
    assert result.energy_cost[Bucket.HC][split] == pytest.approx(0.1579)


def test_several_windows_with_a_midday_one() -> None:
    """02:00-07:00 plus 12:30-15:30: 8 h off-peak."""
    windows = (OffPeakWindow(time(2), time(7)), OffPeakWindow(time(12, 30), time(15, 30)))
    day = date(2026, 6, 10)
    result = TariffEngine(hphc((date(2026, 2, 1), HPHC_FEB_2026), windows=windows)).compute(
        flat([day])
    )
    assert total(result.energy_wh[Bucket.HC]) == 8000
    assert result.energy_wh[Bucket.HC][local(day, 12).astimezone(UTC)] == 500
    assert result.energy_wh[Bucket.HC][local(day, 15).astimezone(UTC)] == 500


# --- Tempo -------------------------------------------------------------------------------


COLOURS = {
    date(2026, 1, 13): TempoColour.WHITE,
    date(2026, 1, 14): TempoColour.RED,
    date(2026, 1, 15): TempoColour.BLUE,
    date(2026, 3, 28): TempoColour.WHITE,
    date(2026, 3, 29): TempoColour.BLUE,
    date(2025, 10, 25): TempoColour.WHITE,
    date(2025, 10, 26): TempoColour.BLUE,
}


def test_tempo_day_runs_from_six_to_six() -> None:
    """14 Jan (red) and 15 Jan (blue); the night before 06:00 on the 14th is white."""
    result = TariffEngine(tempo_tariff(), COLOURS.get).compute(
        flat([date(2026, 1, 14), date(2026, 1, 15)])
    )
    energy = {bucket: total(rows) for bucket, rows in result.energy_wh.items()}
    assert energy == {
        Bucket.WHITE_HC: 6000,  # 14 Jan 00:00-06:00 belongs to Tempo day 13 Jan
        Bucket.WHITE_HP: 0,
        Bucket.RED_HP: 16000,
        Bucket.RED_HC: 8000,  # 14 Jan 22:00 -> 15 Jan 06:00
        Bucket.BLUE_HP: 16000,
        Bucket.BLUE_HC: 2000,
    }
    red_night = local(date(2026, 1, 15), 5).astimezone(UTC)
    assert result.energy_wh[Bucket.RED_HC][red_night] == 1000
    assert result.energy_wh[Bucket.BLUE_HP][red_night + timedelta(hours=1)] == 1000
    # 6 x 0.1499 + 16 x 0.7060 + 8 x 0.1575 + 16 x 0.1612 + 2 x 0.1325 = 16.2996
    assert total(result.total_energy_cost) == 16.30
    assert total(result.energy_cost[Bucket.RED_HP]) == 11.30  # 11.296
    assert not result.missing_colours


def test_tempo_on_the_march_dst_day() -> None:
    """The night of 29 March has 5 real hours before 06:00, all on Tempo day 28 March."""
    result = TariffEngine(tempo_tariff(), COLOURS.get).compute(flat([SPRING]))
    assert total(result.energy_wh[Bucket.WHITE_HC]) == 5000
    assert total(result.energy_wh[Bucket.BLUE_HP]) == 16000
    assert total(result.energy_wh[Bucket.BLUE_HC]) == 2000
    # 5 x 0.1499 + 16 x 0.1612 + 2 x 0.1325 = 3.5937
    assert total(result.total_energy_cost) == 3.59


def test_tempo_on_the_october_dst_day() -> None:
    """The night of 26 October has 7 real hours before 06:00, all on Tempo day 25 October."""
    result = TariffEngine(tempo_tariff(), COLOURS.get).compute(flat([AUTUMN]))
    assert total(result.energy_wh[Bucket.WHITE_HC]) == 7000
    assert total(result.energy_wh[Bucket.BLUE_HP]) == 16000
    # 7 x 0.1499 + 16 x 0.1612 + 2 x 0.1325 = 3.8935
    assert total(result.total_energy_cost) == 3.89


def test_missing_colour_is_reported_and_left_out() -> None:
    """Without the colour of 15 Jan, its 18 hours up to midnight get no energy or cost row."""
    colours = {day: c for day, c in COLOURS.items() if day != date(2026, 1, 15)}
    consumption = flat([date(2026, 1, 14), date(2026, 1, 15)])
    result = TariffEngine(tempo_tariff(), colours.get).compute(consumption)
    assert result.missing_colours == {date(2026, 1, 15)}
    assert len(result.total_energy_cost) == 30
    assert local(date(2026, 1, 15), 6).astimezone(UTC) not in result.total_energy_cost
    assert local(date(2026, 1, 15), 5).astimezone(UTC) in result.total_energy_cost
    assert all(len(rows) == 30 for rows in result.energy_wh.values())
    # 6 x 0.1499 + 16 x 0.7060 + 8 x 0.1575 = 13.4554
    assert total(result.total_energy_cost) == 13.46
    # Fixed costs do not depend on the colour: every hour has one.
    assert len(result.fixed_cost) == 48


def test_bucket_at_and_is_peak() -> None:
    """Hour classification for load shedding, with the 06:00 and 22:00 edges."""
    engine = TariffEngine(tempo_tariff(), COLOURS.get)
    assert engine.bucket_at(local(date(2026, 1, 15), 5, 59)) is Bucket.RED_HC
    assert engine.bucket_at(local(date(2026, 1, 15), 6)) is Bucket.BLUE_HP
    assert engine.bucket_at(local(date(2026, 1, 15), 22)) is Bucket.BLUE_HC
    assert engine.bucket_at(local(date(2026, 1, 14), 12).astimezone(UTC)) is Bucket.RED_HP
    assert not engine.is_peak(local(date(2026, 1, 16), 5, 59))
    assert engine.is_peak(local(date(2026, 1, 16), 6))  # no colour needed
    with pytest.raises(ColourUnknownError) as err:
        engine.bucket_at(local(date(2026, 1, 16), 12))
    assert err.value.day == date(2026, 1, 16)
    with pytest.raises(NoTariffPeriodError):
        engine.bucket_at(local(date(2025, 8, 31), 12))

    hphc_engine = TariffEngine(hphc((date(2026, 2, 1), HPHC_FEB_2026)))
    assert hphc_engine.bucket_at(local(date(2026, 3, 1), 22, 29)) is Bucket.HP
    assert hphc_engine.bucket_at(local(date(2026, 3, 1), 22, 30)) is Bucket.HC
    assert hphc_engine.is_peak(local(date(2026, 3, 1), 6, 30))
    assert not hphc_engine.is_peak(local(date(2026, 3, 1), 6, 29))
    base = Tariff((TariffPeriod(date(2026, 2, 1), ContractOption.BASE, {Bucket.BASE: D("0.2")}),))
    assert not TariffEngine(base).is_peak(local(date(2026, 3, 1), 12))


# --- Subscription, taxes, production --------------------------------------------------------


def month_days(year: int, month: int) -> list[date]:
    """Every date of a month."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return [first + timedelta(days=i) for i in range((following - first).days)]


@pytest.mark.parametrize(
    ("year", "month", "hours"),
    [(2026, 2, 672), (2026, 4, 720), (2026, 3, 743), (2025, 10, 745)],
)
def test_subscription_prorated_over_the_month(year: int, month: int, hours: int) -> None:
    """A full month of hours adds up to the monthly amount, 28/30/31 days, DST months too."""
    period = TariffPeriod(
        date(2025, 8, 1),
        ContractOption.BASE,
        {Bucket.BASE: D("0.2")},
        subscription_monthly=D("15.00"),
    )
    result = TariffEngine(Tariff((period,))).compute(flat(month_days(year, month), wh=0))
    assert len(result.fixed_cost) == hours
    assert total(result.fixed_cost) == 15.00


def test_subscription_day_amount_is_spread_over_the_day_hours() -> None:
    """15 EUR in March: 15/31 per day; the 23-hour day spreads it over 23 hours."""
    period = TariffPeriod(
        date(2025, 8, 1),
        ContractOption.BASE,
        {Bucket.BASE: D("0.2")},
        subscription_monthly=D("15.00"),
    )
    result = TariffEngine(Tariff((period,))).compute(flat([SPRING, date(2026, 4, 1)], wh=0))
    spring = [v for h, v in result.fixed_cost.items() if h.astimezone(PARIS).date() == SPRING]
    assert len(spring) == 23
    assert spring[0] == pytest.approx(15 / 31 / 23)
    assert round(math.fsum(spring), 2) == 0.48  # 0.48387
    april = [v for h, v in result.fixed_cost.items() if h.astimezone(PARIS).date().month == 4]
    assert round(math.fsum(april), 2) == 0.50  # 15 / 30


def test_tax_per_kwh_goes_to_the_fixed_series() -> None:
    """12 EUR/month in April (0.40 a day) plus 24 kWh x 0.0225 EUR/kWh = 0.94."""
    period = TariffPeriod(
        date(2026, 2, 1),
        ContractOption.BASE,
        {Bucket.BASE: D("0.1940")},
        subscription_monthly=D("12"),
        tax_per_kwh=D("0.0225"),
    )
    result = TariffEngine(Tariff((period,))).compute(flat([date(2026, 4, 10)]))
    assert total(result.fixed_cost) == 0.94
    assert total(result.total_energy_cost) == 4.66  # 24 x 0.1940 = 4.656, energy only


def test_production_revenue_uses_dated_buyback_prices() -> None:
    """5 kWh on 28 Feb at 0.04 and 5 kWh on 1 Mar at 0.05; nothing before the first price."""
    tariff = Tariff(
        (TariffPeriod(date(2025, 8, 1), ContractOption.BASE, {Bucket.BASE: D("0.2")}),),
        buyback=(
            BuybackPeriod(date(2026, 1, 1), D("0.04")),
            BuybackPeriod(date(2026, 3, 1), D("0.05")),
        ),
    )
    production = {
        local(day, hour).astimezone(UTC): 500.0
        for day in (date(2025, 12, 31), date(2026, 2, 28), date(2026, 3, 1))
        for hour in range(10, 20)
    }
    result = TariffEngine(tariff).compute({}, production)
    assert len(result.production_revenue) == 20
    assert total(result.production_revenue) == 0.45
    assert result.production_revenue[local(date(2026, 3, 1), 12).astimezone(UTC)] == 0.025


def test_hours_before_the_first_period_are_unpriced() -> None:
    """Hours before the first period get no rows and are reported."""
    tariff = hphc((date(2026, 2, 1), HPHC_FEB_2026))
    result = TariffEngine(tariff).compute(flat([date(2026, 1, 31), date(2026, 2, 1)]))
    assert len(result.unpriced_hours) == 24
    assert len(result.total_energy_cost) == 24
    assert min(result.total_energy_cost) == local(date(2026, 2, 1), 0).astimezone(UTC)


def test_input_rows_must_be_aware_whole_hours() -> None:
    """Naive or mid-hour keys are rejected."""
    engine = TariffEngine(hphc((date(2026, 2, 1), HPHC_FEB_2026)))
    with pytest.raises(ValueError, match="naive"):
        engine.compute({datetime(2026, 3, 1, 12): 1.0})
    with pytest.raises(ValueError, match="whole UTC hour"):
        engine.compute({datetime(2026, 3, 1, 12, 30, tzinfo=UTC): 1.0})


# --- Validation, serialisation, defaults ------------------------------------------------------


def test_round_trip_through_json() -> None:
    """as_dict is JSON-able and from_dict gives the same tariff back."""
    tariff = Tariff(
        (
            TariffPeriod(date(2025, 8, 1), ContractOption.HPHC, HPHC_AUG_2025, HALF_HOUR_WINDOW),
            TariffPeriod(
                date(2026, 2, 1),
                ContractOption.TEMPO,
                TEMPO_PRICES,
                subscription_monthly=D("19.8383"),
                tax_per_kwh=D("0.001"),
            ),
        ),
        buyback=(BuybackPeriod(date(2026, 1, 1), D("0.04")),),
    )
    data = json.loads(json.dumps(tariff.as_dict()))
    assert data["periods"][0]["offpeak"] == ["22:30-06:30"]
    assert data["periods"][1]["prices"]["red_hp"] == "0.7060"
    assert Tariff.from_dict(data) == tariff


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: Tariff(()), "no_periods"),
        (
            lambda: Tariff(
                (
                    TariffPeriod(date(2026, 2, 1), ContractOption.HPHC, HPHC_FEB_2026),
                    TariffPeriod(date(2025, 8, 1), ContractOption.HPHC, HPHC_AUG_2025),
                )
            ),
            "periods_not_sorted",
        ),
        (
            lambda: Tariff(
                (
                    TariffPeriod(date(2026, 2, 1), ContractOption.HPHC, HPHC_FEB_2026),
                    TariffPeriod(date(2026, 2, 1), ContractOption.HPHC, HPHC_AUG_2025),
                )
            ),
            "duplicate_start",
        ),
        (
            lambda: TariffPeriod(date(2026, 2, 1), ContractOption.HPHC, {Bucket.HP: D("0.2")}),
            "price_missing",
        ),
        (
            lambda: TariffPeriod(
                date(2026, 2, 1), ContractOption.BASE, {Bucket.BASE: D("0.2"), Bucket.HP: D("1")}
            ),
            "price_unexpected",
        ),
        (
            lambda: TariffPeriod(date(2026, 2, 1), ContractOption.BASE, {Bucket.BASE: D("-0.2")}),
            "price_invalid",
        ),
        (
            lambda: TariffPeriod(date(2026, 2, 1), ContractOption.HPHC, HPHC_FEB_2026, ()),
            "offpeak_missing",
        ),
        (
            lambda: TariffPeriod(
                date(2026, 2, 1),
                ContractOption.HPHC,
                HPHC_FEB_2026,
                (OffPeakWindow(time(22), time(6)), OffPeakWindow(time(5), time(7))),
            ),
            "offpeak_overlap",
        ),
        (lambda: OffPeakWindow(time(22), time(22)), "offpeak_invalid"),
        (lambda: OffPeakWindow.from_text("22h-6h"), "offpeak_invalid"),
        (lambda: Tariff.from_dict({"periods": [{"start": "2026-02-01"}]}), "invalid_data"),
        (lambda: Tariff.from_dict({"periods": "nope"}), "invalid_data"),
        (lambda: default_tariff(ContractOption.BASE, 7), "no_default"),
    ],
)
def test_validation_errors_have_form_keys(build: Callable[[], object], key: str) -> None:
    """Each invalid tariff raises TariffError (a ValueError) with a stable key."""
    with pytest.raises(TariffError) as err:
        build()
    assert err.value.key == key
    assert isinstance(err.value, ValueError)


def test_missing_price_error_names_the_bucket() -> None:
    """The placeholders say which price of which period is missing."""
    with pytest.raises(TariffError) as err:
        TariffPeriod(date(2026, 2, 1), ContractOption.TEMPO, {Bucket.BLUE_HP: D("0.1")})
    assert err.value.placeholders == {"start": "2026-02-01", "bucket": "blue_hc"}


def test_defaults_follow_the_regulated_movements() -> None:
    """Base moved on 2026-02-01 and depends on the power since then."""
    small = default_tariff(ContractOption.BASE, 6)
    assert [p.start for p in small.periods] == [
        date(2024, 2, 1),
        date(2025, 2, 1),
        date(2025, 8, 1),
        date(2026, 2, 1),
    ]
    assert small.period_at(date(2026, 1, 31)) == small.periods[2]
    assert small.period_at(date(2026, 2, 1)) == small.periods[3]
    assert small.period_at(date(2025, 7, 31)) == small.periods[1]
    assert small.period_at(date(2024, 1, 31)) is None
    assert small.periods[2].prices[Bucket.BASE] == D("0.1952")
    assert small.periods[3].prices[Bucket.BASE] == D("0.1940")
    assert small.periods[3].subscription_monthly == D("187.80") / 12
    large = default_tariff(ContractOption.BASE, 9, subscription_monthly=D("20"))
    assert large.periods[3].prices[Bucket.BASE] == D("0.1927")
    assert large.periods[3].subscription_monthly == D("234.72") / 12
    # Tempo is not offered at 24 kVA: no confirmed subscription, the user's one applies
    unlisted = default_tariff(ContractOption.TEMPO, 24, subscription_monthly=D("20"))
    assert unlisted.periods[-1].subscription_monthly == D("20")
    tempo = default_tariff(ContractOption.TEMPO, 9)
    assert tempo.periods[-1].prices[Bucket.RED_HP] == D("0.7060")
    for grid in DEFAULT_TARIFFS:
        assert set(grid.prices) == set(OPTION_BUCKETS[grid.option])
