"""Load-shift what-if: X kWh a day moved from HP to HC saves exactly X x (HP - HC) a day on
HP/HC (to the cent, also with half-hour windows, across a price change and on a DST day),
days with less energy than the block, days without target hours, a recorded load, an
explicit source window, kWh conserved, and the JSON form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
import json
import math

import pytest

from custom_components.linky.analytics.load_shift import shift_daily_block, shift_recorded_load
from custom_components.linky.analytics.tariff_compare import TariffSetup
from custom_components.linky.energy.hourly import day_hours
from custom_components.linky.energy.tariffs import ContractOption, OffPeakWindow
from custom_components.linky.energy.tempo_calendar import TempoColour
from custom_components.linky.localtime import PARIS, local_date

from .test_tariff_compare import GRIDS, every_day, flat

BASE, HPHC, TEMPO = ContractOption.BASE, ContractOption.HPHC, ContractOption.TEMPO
NIGHT = OffPeakWindow(time(22), time(6))
HALF_HOUR = OffPeakWindow(time(22, 30), time(6, 30))
APRIL = date(2026, 4, 10)
SPRING = date(2026, 3, 29)  # 23 hours


def days(first: date, count: int) -> list[date]:
    """`count` local days from `first`."""
    return [first + timedelta(n) for n in range(count)]


def setup(window: OffPeakWindow, first: date, last: date) -> TariffSetup:
    """9 kVA, the test grids, HP/HC off-peak `window`, every Tempo day blue."""
    return TariffSetup(
        kva=9,
        offpeak={date.min: (window,)},
        colours=every_day(first - timedelta(1), last, TempoColour.BLUE),
        grids=GRIDS,
    )


def at(day: date, hour: int) -> datetime:
    """A local hour as UTC."""
    return datetime.combine(day, time(hour), PARIS).astimezone(UTC)


@pytest.mark.parametrize("window", [NIGHT, HALF_HOUR], ids=["22-06", "22:30-06:30"])
def test_shifting_x_kwh_from_hp_to_hc_saves_x_times_the_spread(window: OffPeakWindow) -> None:
    """10 days, 3 kWh a day: 10 x 3 x (0.2065 - 0.1579) = 1.458 on HP/HC; nothing on Base;
    10 x 3 x (0.1612 - 0.1325) = 0.861 on Tempo (all blue)."""
    period = days(APRIL, 10)
    result = shift_daily_block(
        flat(period),
        setup(window, period[0], period[-1]),
        HPHC,
        kwh_per_day=3,
        target=window,
    )
    assert result.moved_kwh == pytest.approx(30)
    assert result.requested_kwh == pytest.approx(30)
    assert result.short_days == ()
    saving = result.options[HPHC].saving_eur
    assert round(saving, 2) == 1.46
    assert saving == pytest.approx(30 * (0.2065 - 0.1579), abs=1e-9)
    assert result.options[BASE].saving_eur == pytest.approx(0, abs=1e-9)
    assert result.options[TEMPO].saving_eur == pytest.approx(30 * (0.1612 - 0.1325), abs=1e-9)
    assert result.after.kwh == pytest.approx(result.before.kwh, abs=1e-9)
    for cost in result.after.options.values():
        assert abs(cost.kwh - 240) < 0.001


def test_shift_across_a_price_change() -> None:
    """31 January at the August 2025 spread, 1 February at the February 2026 one:
    2 x (0.2081 - 0.1635) + 2 x (0.2065 - 0.1579) = 0.0892 + 0.0972."""
    period = [date(2026, 1, 31), date(2026, 2, 1)]
    result = shift_daily_block(
        flat(period), setup(NIGHT, *period), BASE, kwh_per_day=2, target=NIGHT
    )
    assert round(result.options[HPHC].saving_eur, 4) == 0.1864
    assert round(result.options[HPHC].saving_eur, 2) == 0.19


def test_shift_on_the_march_dst_day() -> None:
    """23 hours: the block goes into the 7 whole night hours (02:00 does not exist)."""
    result = shift_daily_block(
        flat([SPRING]), setup(NIGHT, SPRING, SPRING), HPHC, kwh_per_day=7, target=NIGHT
    )
    after = result.after
    assert round(result.options[HPHC].saving_eur, 4) == round(7 * (0.2065 - 0.1579), 4)
    assert after.kwh == pytest.approx(23)
    night = [h for h in day_hours(SPRING) if h.astimezone(PARIS).hour in {0, 1, 3, 4, 5, 22, 23}]
    assert len(night) == 7
    assert result.moved_kwh == pytest.approx(7)


def test_a_day_with_less_energy_than_the_block_moves_what_is_there() -> None:
    """1.6 kWh in the source hours and a 3 kWh block: 1.6 moved, the day is reported."""
    short, full = APRIL, APRIL + timedelta(1)
    rows = flat([short], 100) | flat([full])
    night = {h for h in rows if h.astimezone(PARIS).hour in {22, 23, 0, 1, 2, 3, 4, 5}}
    rows |= {h: 1000.0 for h in night if local_date(h) == short}
    result = shift_daily_block(rows, setup(NIGHT, short, full), HPHC, kwh_per_day=3, target=NIGHT)
    assert result.short_days == (short,)
    assert result.requested_kwh == pytest.approx(6)
    assert result.moved_kwh == pytest.approx(1.6 + 3)
    assert result.options[HPHC].saving_eur == pytest.approx(4.6 * (0.2065 - 0.1579), abs=1e-9)
    assert result.after.options[HPHC].kwh == pytest.approx(result.before.options[HPHC].kwh)
    after = result.after.break_even
    assert after is not None
    assert after.offpeak_share is not None
    # HP kWh after: the short day's HP hours are empty, the full day keeps 16 - 3
    assert result.after.kwh * (1 - after.offpeak_share) == pytest.approx(13)


def test_a_day_without_target_hours_is_skipped() -> None:
    """Only daytime hours on the first day: nothing moves that day."""
    first, second = APRIL, APRIL + timedelta(1)
    rows = {at(first, hour): 1000.0 for hour in range(10, 13)} | flat([second])
    result = shift_daily_block(rows, setup(NIGHT, first, second), HPHC, kwh_per_day=1, target=NIGHT)
    assert result.skipped_days == (first,)
    assert result.requested_kwh == pytest.approx(1)
    assert result.moved_kwh == pytest.approx(1)


def test_recorded_load_moves_only_its_hours_outside_the_window() -> None:
    """A water heater: 2 kWh at 18:00 and 19:00, 0.5 kWh at 23:00 (stays). On the second day
    the house had only 1 kWh at 18:00, so 3 kWh move instead of 4."""
    first, second = APRIL, APRIL + timedelta(1)
    rows = flat([first, second], 3000)
    rows[at(second, 18)] = 1000.0
    load = {at(day, hour): 2000.0 for day in (first, second) for hour in (18, 19)}
    load |= {at(first, 23): 500.0}
    result = shift_recorded_load(rows, setup(NIGHT, first, second), HPHC, load=load, target=NIGHT)
    assert result.requested_kwh == pytest.approx(8)
    assert result.moved_kwh == pytest.approx(7)
    assert result.short_days == (second,)
    assert result.options[HPHC].saving_eur == pytest.approx(7 * (0.2065 - 0.1579), abs=1e-9)
    assert math.isclose(result.after.kwh, result.before.kwh)


def test_explicit_source_window() -> None:
    """Taken only from 18:00-20:00: 1.5 kWh of its 2 kWh; the other HP hours keep theirs."""
    result = shift_daily_block(
        flat([APRIL]),
        setup(NIGHT, APRIL, APRIL),
        HPHC,
        kwh_per_day=1.5,
        target=NIGHT,
        source=OffPeakWindow(time(18), time(20)),
    )
    assert result.moved_kwh == pytest.approx(1.5)
    assert result.short_days == ()
    unlimited = shift_daily_block(
        flat([APRIL]),
        setup(NIGHT, APRIL, APRIL),
        HPHC,
        kwh_per_day=5,
        target=NIGHT,
        source=OffPeakWindow(time(18), time(20)),
    )
    assert unlimited.moved_kwh == pytest.approx(2)
    assert unlimited.short_days == (APRIL,)


def test_negative_block_is_refused() -> None:
    """A block is an amount of energy to move."""
    with pytest.raises(ValueError, match="non-negative"):
        shift_daily_block(
            flat([APRIL]), setup(NIGHT, APRIL, APRIL), HPHC, kwh_per_day=-1, target=NIGHT
        )


def test_as_dict() -> None:
    """Money to the cent, the window as text."""
    period = days(APRIL, 10)
    result = shift_daily_block(
        flat(period), setup(NIGHT, period[0], period[-1]), HPHC, kwh_per_day=3, target=NIGHT
    )
    data = result.as_dict()
    json.dumps(data)
    assert data["window"] == "22:00-06:00"
    assert data["options"]["hphc"]["saving_eur"] == 1.46
    assert data["options"]["base"]["saving_eur"] == 0
    assert data["moved_kwh"] == 30.0
    assert data["short_days"] == []
