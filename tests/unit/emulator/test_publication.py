"""Publication on the emulator's clock: D+1 08:00, late days at D+3 08:00, missing days never."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from conso_emulator import HOME_PDL, NEW_PDL, PV_PDL, Emulator

from .helpers import PARIS, Api, Clock

ONE_DAY = timedelta(days=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), PARIS)


def plain_day(emu: Emulator, pdl: str, near: date) -> date:
    """A day before `near` that is neither late nor missing."""
    day = near
    while emu.truth.is_late(pdl, day) or emu.truth.is_missing(pdl, day):
        day -= ONE_DAY
    return day


async def test_day_appears_at_0800_the_next_day(api: Api, emu: Emulator, clock: Clock) -> None:
    day = plain_day(emu, HOME_PDL, date(2026, 11, 10))
    clock.now = at(day + ONE_DAY, 7, 59)
    assert not emu.truth.is_published(HOME_PDL, day)
    assert emu.truth.daily_wh(HOME_PDL, False, day) is None
    for measure_type in ("consommation_quotidienne", "courbe_de_charge_consommation"):
        assert (await api.get(measure_type, HOME_PDL, day, day + ONE_DAY)).status == 404
    clock.now = at(day + ONE_DAY, 8, 0)
    assert emu.truth.is_published(HOME_PDL, day)
    reply = await api.get("consommation_quotidienne", HOME_PDL, day, day + ONE_DAY)
    assert reply.status == 200
    assert int(reply.body["grandeur"][0]["points"][0]["v"]) == emu.truth.daily_wh(
        HOME_PDL, False, day
    )


async def test_range_returns_only_published_days(api: Api, emu: Emulator, clock: Clock) -> None:
    day = plain_day(emu, HOME_PDL, date(2026, 11, 10))
    while emu.truth.is_late(HOME_PDL, day - ONE_DAY) or emu.truth.is_missing(
        HOME_PDL, day - ONE_DAY
    ):
        day = plain_day(emu, HOME_PDL, day - ONE_DAY)
    clock.now = at(day + ONE_DAY, 7, 0)
    reply = await api.get("consommation_quotidienne", HOME_PDL, day - ONE_DAY, day + ONE_DAY)
    assert [p["d"] for p in reply.body["grandeur"][0]["points"]] == [(day - ONE_DAY).isoformat()]


def first(days: list[date]) -> date:
    assert days, "the range holds no such day: widen it"
    return days[0]


async def test_late_day_appears_at_d_plus_3(api: Api, emu: Emulator, clock: Clock) -> None:
    late = first(emu.truth.late_days(HOME_PDL, date(2026, 1, 1), date(2026, 11, 1)))
    assert emu.truth.published_at(HOME_PDL, late) == at(late + 3 * ONE_DAY, 8)
    around = (late - 2 * ONE_DAY, late + 2 * ONE_DAY)
    clock.now = at(late + 3 * ONE_DAY, 7, 59)
    before = await api.get("consommation_quotidienne", HOME_PDL, *around)
    assert late.isoformat() not in [p["d"] for p in before.body["grandeur"][0]["points"]]
    curve = await api.get("courbe_de_charge_consommation", HOME_PDL, late, late + ONE_DAY)
    assert curve.status == 404
    clock.now = at(late + 3 * ONE_DAY, 8)
    after = await api.get("consommation_quotidienne", HOME_PDL, *around)
    assert late.isoformat() in [p["d"] for p in after.body["grandeur"][0]["points"]]
    curve = await api.get("courbe_de_charge_consommation", HOME_PDL, late, late + ONE_DAY)
    assert curve.status == 200


async def test_missing_day_never_appears(api: Api, emu: Emulator, clock: Clock) -> None:
    missing = first(emu.truth.missing_days(PV_PDL, date(2024, 12, 1), date(2026, 11, 1)))
    assert emu.truth.published_at(PV_PDL, missing) is None
    assert emu.truth.daily_wh(PV_PDL, True, missing) is None
    clock.now = at(missing + 60 * ONE_DAY, 12)
    around = (missing - ONE_DAY, missing + 2 * ONE_DAY)
    for measure_type in ("consommation_quotidienne", "production_quotidienne"):
        reply = await api.get(measure_type, PV_PDL, *around)
        dates = [p["d"] for p in reply.body["grandeur"][0]["points"]]
        assert missing.isoformat() not in dates
    for measure_type in ("courbe_de_charge_consommation", "courbe_de_charge_production"):
        alone = await api.get(measure_type, PV_PDL, missing, missing + ONE_DAY)
        assert alone.status == 404
        hours = emu.truth.hourly_wh(PV_PDL, True, at(missing, 0), at(missing + ONE_DAY, 0))
        assert hours == {}


def test_late_and_missing_rates(emu: Emulator) -> None:
    start, end = date(2023, 11, 1), date(2026, 11, 1)  # 1096 days
    late = emu.truth.late_days(HOME_PDL, start, end)
    missing = emu.truth.missing_days(HOME_PDL, start, end)
    assert 12 <= len(late) <= 45
    assert 2 <= len(missing) <= 16
    assert not set(late) & set(missing)
    assert late == Emulator().truth.late_days(HOME_PDL, start, end)


def test_hourly_truth_only_holds_published_hours(emu: Emulator, clock: Clock) -> None:
    day = plain_day(emu, HOME_PDL, date(2026, 11, 18))
    clock.now = at(day + ONE_DAY, 7)
    window = (at(day - ONE_DAY, 0), at(day + ONE_DAY, 0))
    before = emu.truth.hourly_wh(HOME_PDL, False, *window)
    clock.now = at(day + ONE_DAY, 8)
    after = emu.truth.hourly_wh(HOME_PDL, False, *window)
    assert len(after) - len(before) == 24
    assert set(before) < set(after)


def test_new_meter_has_no_data_before_activation(emu: Emulator) -> None:
    activation = emu.meters[NEW_PDL].activation_date
    assert activation is not None
    assert emu.truth.daily_wh(NEW_PDL, False, activation - ONE_DAY) is None
    day = plain_day(emu, NEW_PDL, activation + 5 * ONE_DAY)
    assert emu.truth.daily_wh(NEW_PDL, False, day) is not None
