"""Tariff comparison: totals hand-computed to the cent for Base, HP/HC and Tempo, the Tempo
day from 06:00 to 06:00, both DST days, a price change, off-peak windows that change, unknown
Tempo colours (incomplete, same kWh on every option), daily-only days, the break-even
off-peak share, kWh conserved across options and the JSON form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
import json
import math

import pytest

from custom_components.linky.analytics.tariff_compare import (
    TariffSetup,
    compare_tariffs,
)
from custom_components.linky.energy.hourly import day_hours
from custom_components.linky.energy.regulated import DefaultGrid
from custom_components.linky.energy.tariffs import Bucket, ContractOption, OffPeakWindow
from custom_components.linky.energy.tempo_calendar import TempoColour
from custom_components.linky.localtime import PARIS

D = Decimal
BASE, HPHC, TEMPO = ContractOption.BASE, ContractOption.HPHC, ContractOption.TEMPO
BLUE, WHITE, RED = TempoColour.BLUE, TempoColour.WHITE, TempoColour.RED
SPRING = date(2026, 3, 29)  # 23 hours
AUTUMN = date(2025, 10, 26)  # 25 hours
APRIL = date(2026, 4, 15)  # an ordinary day of a 30-day month


def grids(
    start: date,
    base: str,
    hp: str,
    hc: str,
    tempo: tuple[str, str, str, str, str, str],
    subs: tuple[str, str, str] | None,
) -> tuple[DefaultGrid, ...]:
    """One grid per option from `start`, for every kVA; `subs` yearly for 9 kVA."""
    buckets = (
        Bucket.BLUE_HP,
        Bucket.BLUE_HC,
        Bucket.WHITE_HP,
        Bucket.WHITE_HC,
        Bucket.RED_HP,
        Bucket.RED_HC,
    )
    sub = dict.fromkeys(OPTS, None) if subs is None else dict(zip(OPTS, subs, strict=True))
    return tuple(
        DefaultGrid(
            start,
            option,
            prices,
            subscription_yearly={} if sub[option] is None else {9: D(str(sub[option]))},
        )
        for option, prices in (
            (BASE, {Bucket.BASE: D(base)}),
            (HPHC, {Bucket.HP: D(hp), Bucket.HC: D(hc)}),
            (TEMPO, {b: D(p) for b, p in zip(buckets, tempo, strict=True)}),
        )
    )


OPTS = (BASE, HPHC, TEMPO)
# Subscriptions: 20 / 22 / 21 EUR a month, then 30 / 33 / 31.50.
AUG_2025 = grids(
    date(2025, 8, 1),
    "0.1952",
    "0.2081",
    "0.1635",
    ("0.1494", "0.1232", "0.1730", "0.1391", "0.6468", "0.1460"),
    ("240.00", "264.00", "252.00"),
)
FEB_2026 = grids(
    date(2026, 2, 1),
    "0.1927",
    "0.2065",
    "0.1579",
    ("0.1612", "0.1325", "0.1871", "0.1499", "0.7060", "0.1575"),
    ("360.00", "396.00", "378.00"),
)
GRIDS = AUG_2025 + FEB_2026


def setup(
    colours: dict[date, TempoColour] | None = None,
    offpeak: dict[date, tuple[OffPeakWindow, ...]] | None = None,
) -> TariffSetup:
    """9 kVA, the test grids, 22:00-06:00 unless told."""
    return TariffSetup(
        kva=9,
        offpeak=offpeak or {date.min: (OffPeakWindow(time(22), time(6)),)},
        colours=colours or {},
        grids=GRIDS,
    )


def flat(days: list[date], wh: float = 1000) -> dict[datetime, float]:
    """`wh` in every UTC hour of the local `days`."""
    return {hour: wh for day in days for hour in day_hours(day)}


def at(day: date, hour: int) -> datetime:
    """A local hour as UTC."""
    return datetime.combine(day, time(hour), PARIS).astimezone(UTC)


def every_day(first: date, last: date, colour: TempoColour = BLUE) -> dict[date, TempoColour]:
    """`colour` on every Tempo day from `first` to `last`."""
    return {first + timedelta(n): colour for n in range((last - first).days + 1)}


def test_one_day_on_every_option_to_the_cent() -> None:
    """Flat 1 kWh/h on 15 April 2026; the 00-06 hours are Tempo day 14 April (blue), the rest
    day 15 April (red). April has 30 days: subscriptions 1.00 / 1.10 / 1.05 a day."""
    result = compare_tariffs(flat([APRIL]), setup({APRIL - timedelta(1): BLUE, APRIL: RED}), HPHC)
    base, hphc, tempo = (result.options[o] for o in OPTS)
    # 24 x 0.1927 = 4.6248, + 1.00
    assert round(base.total_eur, 2) == 5.62
    assert round(base.subscription_eur, 2) == 1.00
    # 16 x 0.2065 + 8 x 0.1579 = 3.304 + 1.2632, + 1.10
    assert round(hphc.total_eur, 2) == 5.67
    # blue HC 6 x 0.1325 + red HP 16 x 0.7060 + red HC 2 x 0.1575 = 0.795 + 11.296 + 0.315
    assert round(tempo.energy_eur, 2) == 12.41
    assert round(tempo.total_eur, 2) == 13.46
    assert result.cheapest is BASE
    assert round(base.difference_eur, 2) == -0.04  # 5.6248 - 5.6672
    assert base.difference_pct == pytest.approx(-0.0424 / 5.6672 * 100)
    assert hphc.difference_eur == 0
    assert round(tempo.difference_eur, 2) == 7.79  # 13.456 - 5.6672
    assert result.tempo[BLUE].days == 1
    assert result.tempo[BLUE].hp_kwh == 0
    assert result.tempo[BLUE].hc_kwh == pytest.approx(6)
    assert result.tempo[RED].days == 1
    assert result.tempo[RED].hp_kwh == pytest.approx(16)
    assert result.tempo[RED].hc_kwh == pytest.approx(2)
    assert result.tempo[WHITE].days == 0
    assert not result.incomplete
    assert all(cost.subscription_known for cost in result.options.values())


def test_both_dst_days() -> None:
    """23 hours in March (7 off-peak), 25 in October (9 off-peak, the repeated 02:00 twice);
    each day gets one day of subscription whatever its length."""
    colours = every_day(AUTUMN - timedelta(1), SPRING)
    result = compare_tariffs(flat([AUTUMN, SPRING]), setup(colours), BASE)
    base, hphc, tempo = (result.options[o] for o in OPTS)
    assert result.kwh == pytest.approx(48)
    # 25 x 0.1952 + 20/31 + 23 x 0.1927 + 30/31 = 4.88 + 0.64516 + 4.4321 + 0.96774
    assert round(base.total_eur, 2) == 10.93
    assert round(base.subscription_eur, 2) == 1.61  # 50/31, not prorated by hours
    # 16 x 0.2081 + 9 x 0.1635 + 22/31 + 16 x 0.2065 + 7 x 0.1579 + 33/31
    # = 3.3296 + 1.4715 + 0.70968 + 3.304 + 1.1053 + 1.06452
    assert round(hphc.total_eur, 2) == 10.98
    # Tempo blue: 25 h on AUTUMN (9 HC at 0.1232, 16 HP at 0.1494), 23 h on SPRING
    # (7 HC at 0.1325, 16 HP at 0.1612) + 21/31 + 31.5/31
    # = 1.1088 + 2.3904 + 0.9275 + 2.5792 + 0.67742 + 1.01613
    assert round(tempo.total_eur, 2) == 8.70
    assert result.tempo[BLUE].hc_kwh == pytest.approx(16)
    assert result.tempo[BLUE].hp_kwh == pytest.approx(32)


def test_price_change_in_the_middle() -> None:
    """31 January at the August 2025 grid, 1 February at the February 2026 one."""
    days = [date(2026, 1, 31), date(2026, 2, 1)]
    result = compare_tariffs(flat(days), setup(every_day(days[0] - timedelta(1), days[1])), BASE)
    base, hphc = result.options[BASE], result.options[HPHC]
    # 24 x 0.1952 + 24 x 0.1927 = 9.3096; + 20/31 + 30/28 = 1.71659
    assert round(base.energy_eur, 2) == 9.31
    assert round(base.total_eur, 2) == 11.03
    # 16 x 0.2081 + 8 x 0.1635 + 16 x 0.2065 + 8 x 0.1579 = 4.6376 + 4.5672; + 22/31 + 33/28
    assert round(hphc.total_eur, 2) == 11.09
    be = result.break_even
    assert be is not None
    assert be.base_price == pytest.approx((0.1952 + 0.1927) / 2)  # equal kWh on both days
    assert be.hp_price == pytest.approx((0.2081 + 0.2065) / 2)


def test_offpeak_windows_change_in_the_period() -> None:
    """2 kWh at 12:00 and 13:00 on two days; off-peak moves to 12:00-14:00 + 02:00-08:00 on
    the second day, so the same hours are HP then HC."""
    first, second = APRIL, APRIL + timedelta(1)
    rows = {at(day, hour): 2000.0 for day in (first, second) for hour in (12, 13)}
    windows = {
        date.min: (OffPeakWindow(time(22), time(6)),),
        second: (OffPeakWindow(time(12), time(14)), OffPeakWindow(time(2), time(8))),
    }
    result = compare_tariffs(
        rows | {h: 0.0 for h in flat([first, second]) if h not in rows},
        setup(every_day(first - timedelta(1), second), windows),
        HPHC,
    )
    # 4 x 0.2065 + 4 x 0.1579 = 0.826 + 0.6316; + 2 x 1.10
    assert round(result.options[HPHC].energy_eur, 4) == 1.4576
    assert round(result.options[HPHC].total_eur, 2) == 3.66
    assert result.break_even is not None
    assert result.break_even.offpeak_share == pytest.approx(0.5)


def test_unknown_tempo_colours_are_left_out_of_every_option() -> None:
    """Tempo day 15 April unknown: 15 April 06:00 to 16 April 06:00 is not compared on any
    option; the 00-06 hours of the 15th (Tempo day 14) and the 16th from 06:00 are."""
    days = [APRIL, APRIL + timedelta(1)]
    colours = {APRIL - timedelta(1): BLUE, APRIL + timedelta(1): WHITE}
    result = compare_tariffs(flat(days), setup(colours), BASE)
    assert result.incomplete
    assert result.unknown_colour_days == (APRIL,)
    assert len(result.missing_hours) == 24
    assert at(APRIL, 6) in result.missing_hours
    assert at(APRIL, 5) not in result.missing_hours
    assert at(APRIL + timedelta(1), 5) in result.missing_hours
    assert result.excluded_kwh == pytest.approx(24)
    assert result.kwh == pytest.approx(24)
    for cost in result.options.values():
        assert cost.kwh == pytest.approx(24, abs=1e-3)
    assert round(result.options[BASE].energy_eur, 4) == round(24 * 0.1927, 4)
    # 6 blue HC + white from 06:00: 16 HP and 2 HC
    assert round(result.options[TEMPO].energy_eur, 4) == round(
        6 * 0.1325 + 16 * 0.1871 + 2 * 0.1499, 4
    )
    assert result.tempo[BLUE].days == 1
    assert result.tempo[WHITE].days == 1
    assert result.as_dict()["unknown_tempo_days"] == ["2026-04-15"]


def test_kwh_conserved_across_options_over_months() -> None:
    """Varied hours from October to April (both DST days, the price change, a change of
    off-peak windows at half hours): every option prices the input kWh within 0.001 kWh."""
    first, last = date(2025, 10, 1), date(2026, 4, 30)
    rows = {
        hour: 150.0 + (i * 37 % 1900) + (i % 7) * 0.123
        for i, hour in enumerate(
            h for n in range((last - first).days + 1) for h in day_hours(first + timedelta(n))
        )
    }
    windows = {
        date.min: (OffPeakWindow(time(22), time(6)),),
        date(2026, 1, 10): (OffPeakWindow(time(23, 30), time(7, 30)),),
    }
    colours = {
        day: (BLUE, WHITE, RED)[n % 3]
        for n, day in enumerate(every_day(first - timedelta(1), last))
    }
    result = compare_tariffs(rows, setup(colours, windows), TEMPO)
    total = math.fsum(rows.values()) / 1000
    assert not result.incomplete
    assert result.kwh == pytest.approx(total, abs=1e-6)
    for cost in result.options.values():
        assert abs(cost.kwh - total) < 0.001
    tempo_kwh = sum(cell.hp_kwh + cell.hc_kwh for cell in result.tempo.values())
    assert abs(tempo_kwh - total) < 0.001
    assert sum(cell.days for cell in result.tempo.values()) == (last - first).days + 2
    assert len(rows) == 212 * 24  # 212 days, one 23-hour and one 25-hour


def test_daily_only_days_priced_on_base_apart() -> None:
    """An hourly day, two daily-only days (one with a daily total that the hourly day
    overrides) and a day without data in between."""
    daily = {APRIL: 99_000.0, APRIL + timedelta(1): 30_000.0, APRIL + timedelta(3): 12_000.0}
    colours = every_day(APRIL - timedelta(1), APRIL)
    result = compare_tariffs(flat([APRIL]), setup(colours), BASE, daily)
    assert result.daily_only.days == 2
    assert result.daily_only.kwh == pytest.approx(42)
    # 42 x 0.1927 + 2 days x 1.00
    assert round(result.daily_only.base_eur, 2) == 10.09
    for cost in result.options.values():
        assert cost.kwh == pytest.approx(24)
    assert round(result.options[BASE].total_eur, 2) == 5.62
    assert result.missing_days == (APRIL + timedelta(2),)
    assert result.last_day == APRIL + timedelta(3)
    assert result.incomplete
    complete = compare_tariffs(flat([APRIL]), setup(colours), BASE, {APRIL + timedelta(1): 1.0})
    assert not complete.incomplete


def test_a_hole_in_an_hourly_day_makes_it_incomplete() -> None:
    """A missing hour is listed and the result is incomplete."""
    rows = flat([APRIL])
    del rows[at(APRIL, 9)]
    result = compare_tariffs(rows, setup(every_day(APRIL - timedelta(1), APRIL)), BASE)
    assert result.missing_hours == (at(APRIL, 9),)
    assert result.incomplete
    assert result.options[HPHC].kwh == pytest.approx(23)


def test_break_even_share() -> None:
    """(24 x (0.2065 - 0.1927) + 1.10 - 1.00) / (24 x (0.2065 - 0.1579)); HP/HC wins just
    above it and loses just below."""
    colours = every_day(APRIL - timedelta(1), APRIL)
    expected = (24 * (0.2065 - 0.1927) + 0.10) / (24 * (0.2065 - 0.1579))

    def day_with_share(share: float) -> dict[datetime, float]:
        """24 kWh on APRIL with `share` of it in 22:00-06:00."""
        return {
            h: 24_000 * share / 8
            if h.astimezone(PARIS).hour in {22, 23, 0, 1, 2, 3, 4, 5}
            else 24_000 * (1 - share) / 16
            for h in day_hours(APRIL)
        }

    for share, cheaper in ((expected + 0.02, HPHC), (expected - 0.02, BASE)):
        result = compare_tariffs(day_with_share(share), setup(colours), BASE)
        assert result.break_even is not None
        assert result.break_even.share == pytest.approx(expected)
        assert result.break_even.offpeak_share == pytest.approx(share)
        base, hphc = result.options[BASE].total_eur, result.options[HPHC].total_eur
        assert (hphc < base) is (cheaper is HPHC)
        assert abs(hphc - base) == pytest.approx(24 * 0.02 * (0.2065 - 0.1579))


def test_subscription_fallback_and_unknown_subscription() -> None:
    """No grid figure: the caller's monthly figure, else the total has no subscription."""
    no_subs = grids(date(2026, 2, 1), "0.1927", "0.2065", "0.1579", ("0.1",) * 6, None)
    colours = every_day(APRIL - timedelta(1), APRIL)
    base = TariffSetup(9, colours=colours, grids=no_subs, subscriptions={BASE: D("15")})
    result = compare_tariffs(flat([APRIL]), base, BASE)
    assert round(result.options[BASE].subscription_eur, 2) == 0.50  # 15 / 30
    assert result.options[BASE].subscription_known
    assert result.options[HPHC].subscription_eur == 0
    assert not result.options[HPHC].subscription_known
    # Tempo's energy is the cheapest (0.1 EUR/kWh), but without its subscription its total
    # says nothing: the cheapest is chosen among the options whose total is known
    assert result.options[TEMPO].total_eur < result.options[BASE].total_eur
    assert result.cheapest is BASE


def test_the_default_grids_price_each_kva() -> None:
    """With the integration's table: Base on 1 February 2026 is 0.1940 at 6 kVA, 0.1927 at 9."""
    day = date(2026, 2, 2)
    colours = every_day(day - timedelta(1), day)
    six = compare_tariffs(flat([day]), TariffSetup(6, colours=colours), BASE)
    nine = compare_tariffs(flat([day]), TariffSetup(9, colours=colours), BASE)
    assert round(six.options[BASE].energy_eur, 4) == round(24 * 0.1940, 4)
    assert round(nine.options[BASE].energy_eur, 4) == round(24 * 0.1927, 4)
    assert six.options[BASE].subscription_known  # 187.80 a year at 6 kVA
    assert nine.options[BASE].subscription_known  # 234.72 a year at 9 kVA


def test_as_dict_is_json_and_rounded() -> None:
    """Money to the cent, kWh to the Wh, options by their value."""
    result = compare_tariffs(flat([APRIL]), setup({APRIL - timedelta(1): BLUE, APRIL: RED}), HPHC)
    data = result.as_dict()
    json.dumps(data)
    assert data["cheapest_option"] == "base"
    assert data["current_option"] == "hphc"
    assert data["options"]["tempo"]["total_eur"] == 13.46
    assert data["options"]["base"]["difference_eur"] == -0.04
    assert data["options"]["hphc"]["kwh"] == 24.0
    assert data["tempo"]["red"] == {"days": 1, "hp_kwh": 16.0, "hc_kwh": 2.0}
    assert data["incomplete"] is False
    assert data["first_day"] == data["last_day"] == "2026-04-15"
    assert data["hphc_break_even"]["offpeak_share"] == round(0.4312 / 1.1664, 4)
