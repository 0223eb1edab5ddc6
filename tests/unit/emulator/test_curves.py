"""Load curves: interval-end labels, DST days, PT10M/PT30M/PT60M days, and energy identities
(curve == daily == ground truth)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from conso_emulator import HOME_PDL, PV_PDL, Emulator, Meter

from .helpers import PARIS, TODAY, Api

SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)


def meter_with_step(emu: Emulator, day: date, step: int, *, production: bool = False) -> str:
    """A (deterministic) PDL whose load curve has `step` minutes on `day`."""
    for n in range(200):
        pdl = f"{30000000000000 + n}"
        meter = Meter(pdl, production=production, profile="pv" if production else "heating")
        emu.add_meter(meter)
        if emu.truth.step_minutes(pdl, day) == step and not emu.truth.is_missing(pdl, day):
            return pdl
        del emu.meters[pdl]
    raise AssertionError("no such meter")


def points(reply_body: dict[str, object]) -> list[dict[str, str]]:
    return reply_body["grandeur"][0]["points"]  # type: ignore[index]


async def test_normal_day_pt30m_runs_from_0030_to_next_midnight(api: Api, emu: Emulator) -> None:
    day = date(2026, 11, 10)
    pdl = meter_with_step(emu, day, 30)
    reply = await api.get("courbe_de_charge_consommation", pdl, day, day + timedelta(days=1))
    labels = [point["d"] for point in points(reply.body)]
    assert len(labels) == 48
    assert labels[0] == "2026-11-10 00:30:00"
    assert labels[-1] == "2026-11-11 00:00:00"
    assert {point["p"] for point in points(reply.body)} == {"PT30M"}


async def test_spring_forward_day_has_46_half_hours(api: Api, emu: Emulator) -> None:
    pdl = meter_with_step(emu, SPRING, 30)
    reply = await api.get("courbe_de_charge_consommation", pdl, SPRING, SPRING + timedelta(days=1))
    labels = [point["d"] for point in points(reply.body)]
    assert len(labels) == 46
    index = labels.index("2026-03-29 01:30:00")
    assert labels[index + 1] == "2026-03-29 03:00:00"
    assert not [label for label in labels if label.startswith("2026-03-29 02:")]
    assert labels[-1] == "2026-03-30 00:00:00"


async def test_fall_back_day_has_50_half_hours_with_repeated_labels(
    api: Api, emu: Emulator
) -> None:
    pdl = meter_with_step(emu, AUTUMN, 30)
    reply = await api.get("consumption_load_curve", pdl, AUTUMN, AUTUMN + timedelta(days=1))
    labels = [reading["date"] for reading in reply.body["interval_reading"]]
    assert len(labels) == 50
    index = labels.index("2026-10-25 01:30:00")
    assert labels[index : index + 6] == [
        "2026-10-25 01:30:00",
        "2026-10-25 02:00:00",
        "2026-10-25 02:30:00",
        "2026-10-25 02:00:00",
        "2026-10-25 02:30:00",
        "2026-10-25 03:00:00",
    ]
    assert labels[-1] == "2026-10-26 00:00:00"


@pytest.mark.parametrize(("day", "hours"), [(SPRING, 23), (AUTUMN, 25), (date(2026, 7, 1), 24)])
@pytest.mark.parametrize("step", [10, 60])
async def test_pt10m_and_pt60m_days(
    api: Api, emu: Emulator, day: date, hours: int, step: int
) -> None:
    pdl = meter_with_step(emu, day, step)
    reply = await api.get("courbe_de_charge_consommation", pdl, day, day + timedelta(days=1))
    day_points = points(reply.body)
    assert len(day_points) == hours * 60 // step
    assert {point["p"] for point in day_points} == {f"PT{step}M"}
    ends = [datetime.fromisoformat(p["d"]) for p in day_points]
    assert ends[0] == datetime.combine(day, datetime.min.time()) + timedelta(minutes=step)
    assert ends[-1] == datetime.combine(day + timedelta(days=1), datetime.min.time())


async def test_steps_vary_by_day_mostly_pt30m(emu: Emulator) -> None:
    days = [TODAY - timedelta(days=n) for n in range(1, 366)]
    steps = [emu.truth.step_minutes(HOME_PDL, day) for day in days]
    assert steps.count(30) > 250
    assert steps.count(10) > 10
    assert steps.count(60) > 10


def curve_wh(body_points: list[dict[str, str]]) -> int:
    """Energy of V2 curve points: sum of W x minutes / 60 (exact integers)."""
    total = 0
    for point in body_points:
        minutes = int(point["p"][2:-1])
        watts_minutes = int(point["v"]) * minutes
        assert watts_minutes % 60 == 0
        total += watts_minutes // 60
    return total


def local_day_utc_hours(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), PARIS).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS).astimezone(UTC)
    return start, end


CASES = [
    (HOME_PDL, False, "courbe_de_charge_consommation", "consommation_quotidienne"),
    (PV_PDL, False, "courbe_de_charge_consommation", "consommation_quotidienne"),
    (PV_PDL, True, "courbe_de_charge_production", "production_quotidienne"),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("week_start", [date(2026, 3, 25), date(2026, 6, 20), date(2026, 10, 22)])
async def test_curve_sum_equals_daily_equals_truth(
    api: Api, emu: Emulator, case: tuple[str, bool, str, str], week_start: date
) -> None:
    pdl, production, curve_type, daily_type = case
    week_end = week_start + timedelta(days=7)
    curve = await api.get(curve_type, pdl, week_start, week_end)
    daily = await api.get(daily_type, pdl, week_start, week_end)
    daily_by_day = {p["d"]: int(p["v"]) for p in points(daily.body)}
    curve_by_day: dict[str, list[dict[str, str]]] = {}
    for point in points(curve.body):
        end = datetime.fromisoformat(point["d"]) - timedelta(minutes=1)
        curve_by_day.setdefault(end.date().isoformat(), []).append(point)
    assert curve_by_day.keys() == daily_by_day.keys()
    assert len(daily_by_day) >= 6
    for offset in range(7):
        day = week_start + timedelta(days=offset)
        truth = emu.truth.daily_wh(pdl, production, day)
        if day.isoformat() not in daily_by_day:
            assert truth is None
            continue
        assert curve_wh(curve_by_day[day.isoformat()]) == daily_by_day[day.isoformat()] == truth
        hourly = emu.truth.hourly_wh(pdl, production, *local_day_utc_hours(day))
        assert sum(hourly.values()) == truth
        assert len(hourly) == {date(2026, 3, 29): 23, date(2026, 10, 25): 25}.get(day, 24)


async def test_legacy_and_v2_curves_carry_the_same_values(api: Api) -> None:
    start, end = date(2026, 11, 1), date(2026, 11, 4)
    v2 = await api.get("courbe_de_charge_production", PV_PDL, start, end)
    legacy = await api.get("production_load_curve", PV_PDL, start, end)
    assert [(p["v"], p["d"], p["p"]) for p in points(v2.body)] == [
        (r["value"], r["date"], r["interval_length"]) for r in legacy.body["interval_reading"]
    ]


async def test_hourly_truth_matches_the_curve_hour_by_hour(api: Api, emu: Emulator) -> None:
    day = date(2026, 11, 12)
    pdl = meter_with_step(emu, day, 10)
    reply = await api.get("courbe_de_charge_consommation", pdl, day, day + timedelta(days=1))
    by_hour: dict[datetime, int] = {}
    for point in points(reply.body):
        end = datetime.fromisoformat(point["d"]).replace(tzinfo=PARIS).astimezone(UTC)
        hour = (end - timedelta(minutes=10)).replace(minute=0)
        by_hour[hour] = by_hour.get(hour, 0) + int(point["v"]) * 10 // 60
    assert by_hour == emu.truth.hourly_wh(pdl, False, *local_day_utc_hours(day))
    assert all(hour.minute == 0 and hour.tzinfo == UTC for hour in by_hour)


async def test_max_power_covers_the_highest_10_minute_power(api: Api, emu: Emulator) -> None:
    start, end = date(2026, 10, 20), date(2026, 10, 27)
    v2 = await api.get("puissance_conso_max_quotidienne", HOME_PDL, start, end)
    legacy = await api.get("consumption_max_power", HOME_PDL, start, end)
    assert [(p["v"], p["d"]) for p in points(v2.body)] == [
        (r["value"], r["date"]) for r in legacy.body["interval_reading"]
    ]
    assert len(points(v2.body)) == 7
    for offset, point in enumerate(points(v2.body)):
        truth = emu.truth.day(HOME_PDL, start + timedelta(days=offset))
        assert int(point["v"]) >= 6 * max(truth.consumption)
        assert point["d"] == truth.max_power_at.strftime("%Y-%m-%d %H:%M:%S")
        peak_slot = (truth.max_power_at - truth.start) // timedelta(minutes=10)
        assert truth.consumption[peak_slot] == max(truth.consumption)
        assert truth.max_power_at.date() == truth.day
