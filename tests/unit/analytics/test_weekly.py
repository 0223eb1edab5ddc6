"""The weekly report (issue 11): ISO weeks and their bounds across DST, totals equal to the
stored rows within the bounds, changes, incomplete weeks, multi-meter totals, JSON round trip,
English and French texts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
import json
import math

import pytest

from custom_components.linky.analytics.anomalies import Finding, FindingKind, Limit
from custom_components.linky.analytics.report_text import finding_text, render
from custom_components.linky.analytics.weekly import (
    Change,
    IsoWeek,
    MeterWeek,
    WeeklyReport,
    build_meter_week,
)
from custom_components.linky.conso.models import MaxPower
from custom_components.linky.energy.hourly import day_hours, local_day_bounds
from custom_components.linky.energy.tariffs import Bucket
from custom_components.linky.localtime import PARIS

HOUR = timedelta(hours=1)
PDL = "12345678901234"
OCTOBER = IsoWeek(2026, 43)  # 2026-10-19 .. 2026-10-25: the clocks go back on Sunday


def wh(hour: datetime) -> float:
    """A deterministic, irregular hourly consumption (Wh)."""
    local = hour.astimezone(PARIS)
    return 300.0 + 1700.0 * (17 <= local.hour < 22) + (hour.timestamp() % 7919) / 13.0


# --- ISO weeks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("week", "hours", "start"),
    [
        (IsoWeek(2026, 48), 168, datetime(2026, 11, 22, 23, tzinfo=UTC)),
        (IsoWeek(2026, 13), 167, datetime(2026, 3, 22, 23, tzinfo=UTC)),  # 29 March
        (OCTOBER, 169, datetime(2026, 10, 18, 22, tzinfo=UTC)),  # 25 October
    ],
)
def test_bounds_across_dst(week: IsoWeek, hours: int, start: datetime) -> None:
    low, high = week.bounds()
    assert low == start
    assert (high - low) / HOUR == hours
    assert high == week.next().bounds()[0]
    assert low.astimezone(PARIS).replace(tzinfo=None) == datetime.combine(
        week.monday, datetime.min.time()
    )
    assert high.astimezone(PARIS).weekday() == 0
    assert high.astimezone(PARIS).hour == 0


def test_week_53_and_year_before() -> None:
    week = IsoWeek(2026, 53)
    assert week.days() == tuple(date(2026, 12, 28) + timedelta(days=i) for i in range(7))
    assert IsoWeek.of(date(2027, 1, 3)) == week
    assert IsoWeek.of(date(2027, 1, 4)) == IsoWeek(2027, 1) == week.next()
    assert IsoWeek(2027, 1).previous() == week
    assert week.previous() == IsoWeek(2026, 52)
    # 2025 has no week 53: the year before of 2026-W53 is 2025's last week, 2025-W52.
    with pytest.raises(ValueError, match="no week 53"):
        IsoWeek(2025, 53)
    assert week.year_before() == IsoWeek(2025, 52)
    assert IsoWeek(2026, 52).year_before() == IsoWeek(2025, 52)
    assert IsoWeek(2027, 10).year_before() == IsoWeek(2026, 10)
    assert IsoWeek(2021, 53 - 1).year_before() == IsoWeek(2020, 52)


def test_week_text_order_and_days() -> None:
    week = IsoWeek(2026, 9)
    assert str(week) == "2026-W09"
    assert IsoWeek.parse("2026-W09") == week
    assert json.loads(json.dumps(str(week))) == "2026-W09"
    with pytest.raises(ValueError, match="not an ISO week"):
        IsoWeek.parse("2026-9")
    assert sorted([IsoWeek(2027, 1), IsoWeek(2026, 53), IsoWeek(2026, 9)]) == [
        IsoWeek(2026, 9),
        IsoWeek(2026, 53),
        IsoWeek(2027, 1),
    ]
    assert week.days()[0] == date(2026, 2, 23)
    assert week.days()[-1] == date(2026, 3, 1) == week.sunday
    assert {IsoWeek(2026, 9), IsoWeek.parse("2026-W09")} == {week}


# --- totals ---------------------------------------------------------------------------------


def week_rows(week: IsoWeek, daily_days: frozenset[date] = frozenset()) -> dict[str, dict]:
    """Stored series of the week and of the hours around it: hourly days, or one row at
    local midnight for `daily_days`; the energy price changes on Thursday."""
    rows: dict[str, dict[datetime, float]] = {
        name: {} for name in ("consumption", "consumption_cost", "fixed_cost")
    }
    rows |= {"consumption_hp": {}, "consumption_hc": {}}
    for day in (week.monday - timedelta(days=1), *week.days(), week.sunday + timedelta(days=1)):
        price = 0.20 if day.weekday() < 3 else 0.25  # EUR/kWh, a new tariff on Thursday
        rows["fixed_cost"][local_day_bounds(day)[0]] = 0.55
        hours = day_hours(day)
        if day in daily_days:
            total = math.fsum(wh(hour) for hour in hours)
            rows["consumption"][hours[0]] = total
            rows["consumption_cost"][hours[0]] = total / 1000 * price
            continue
        for hour in hours:
            rows["consumption"][hour] = wh(hour)
            rows["consumption_cost"][hour] = wh(hour) / 1000 * price
            off_peak = hour.astimezone(PARIS).hour < 6 or hour.astimezone(PARIS).hour >= 22
            rows["consumption_hc" if off_peak else "consumption_hp"][hour] = wh(hour)
    return rows


def expected_sum(series: Mapping[datetime, float], week: IsoWeek) -> float:
    low, high = week.bounds()
    return math.fsum(v for hour, v in series.items() if low <= hour < high)


def test_totals_are_the_stored_rows_within_the_bounds() -> None:
    daily = frozenset({date(2026, 10, 21)})  # a Wednesday stored DAILY
    rows = week_rows(OCTOBER, daily)
    low, high = OCTOBER.bounds()
    # Heavy rows right outside the bounds, which must be ignored.
    for name in rows:
        rows[name][low - HOUR] = 1e6
        rows[name][high] = 1e6
    # The October repeated hour is two rows (two UTC hours).
    repeated = [h for h in day_hours(date(2026, 10, 25)) if h.astimezone(PARIS).hour == 2]
    assert len(repeated) == 2
    assert all(hour in rows["consumption"] for hour in repeated)
    meter = build_meter_week(PDL, OCTOBER, rows, days_present=set(OCTOBER.days()))
    consumption = expected_sum(rows["consumption"], OCTOBER) / 1000
    cost = expected_sum(rows["consumption_cost"], OCTOBER) + 7 * 0.55
    assert abs(meter.consumption_kwh - consumption) < 0.01
    assert abs(meter.cost_eur - cost) < 0.01  # type: ignore[operator]
    hourly = sum(len(day_hours(d)) for d in OCTOBER.days() if d not in daily)
    assert hourly == 169 - 24
    # The price change: the costs are the stored EUR, whatever the price of each day.
    by_price = math.fsum(
        wh(h) / 1000 * (0.20 if h.astimezone(PARIS).weekday() < 3 else 0.25)
        for d in OCTOBER.days()
        for h in day_hours(d)
    )
    assert abs(meter.cost_eur - (by_price + 7 * 0.55)) < 0.01  # type: ignore[operator]
    assert abs(meter.consumption_kwh * 0.20 + 7 * 0.55 - meter.cost_eur) > 1  # type: ignore[operator]
    # The split only has the hourly days; it sums the bucket rows.
    assert set(meter.split_kwh) == {Bucket.HP, Bucket.HC}
    assert math.fsum(meter.split_kwh.values()) == pytest.approx(
        consumption - rows["consumption"][local_day_bounds(date(2026, 10, 21))[0]] / 1000
    )
    assert meter.production_kwh is None
    assert meter.revenue_eur is None
    assert meter.complete
    assert meter.missing_days == ()


def test_rows_keyed_in_local_time_and_naive_keys() -> None:
    week = IsoWeek(2026, 13)  # 167 hours
    low, high = week.bounds()
    hours = [low + i * HOUR for i in range(int((high - low) / HOUR))]
    rows = {"consumption": {hour.astimezone(PARIS): 1000.0 for hour in hours}}
    rows["consumption"][(low - HOUR).astimezone(PARIS)] = 5000.0
    rows["production"] = {hours[12]: 2500.0, high: 9000.0}
    rows["self_consumption"] = {hours[12]: 1500.0}
    rows["production_revenue"] = {hours[12]: 0.325}
    meter = build_meter_week(PDL, week, rows, days_present=week.days())
    assert meter.consumption_kwh == 167.0
    assert meter.cost_eur is None  # no tariff
    assert meter.split_kwh == {}
    assert (meter.production_kwh, meter.self_consumption_kwh) == (2.5, 1.5)
    assert meter.revenue_eur == 0.325
    with pytest.raises(ValueError, match="naive"):
        build_meter_week(
            PDL,
            week,
            {"consumption": {datetime(2026, 3, 24, 10): 1.0}},
            days_present=(),
        )


def meter_week(
    week: IsoWeek, kwh: float, *, pdl: str = PDL, missing: tuple[date, ...] = (), **kwargs: object
) -> MeterWeek:
    return MeterWeek(
        pdl=pdl,
        week=week,
        consumption_kwh=kwh,
        missing_days=missing,
        **kwargs,  # type: ignore[arg-type]
    )


def flat_rows(week: IsoWeek, kwh: float) -> dict[str, dict[datetime, float]]:
    """`kwh` spread over the week's Monday midnight row."""
    return {"consumption": {week.bounds()[0]: kwh * 1000}}


def test_changes_need_both_weeks_complete() -> None:
    week = IsoWeek(2026, 48)
    rows = flat_rows(week, 110.0)
    previous = meter_week(week.previous(), 100.0)
    meter = build_meter_week(
        PDL, week, rows, days_present=week.days(), previous=previous, year_before=None
    )
    assert meter.vs_previous == Change(week.previous(), 100.0, 10.0)
    assert meter.vs_previous.percent == pytest.approx(10.0)  # type: ignore[union-attr]
    assert meter.vs_year_before is None  # the year before is not known
    incomplete = meter_week(week.year_before(), 90.0, missing=(date(2025, 11, 29),))
    meter = build_meter_week(
        PDL, week, rows, days_present=week.days(), previous=previous, year_before=incomplete
    )
    assert meter.vs_year_before is None
    # This week incomplete: no change either.
    meter = build_meter_week(PDL, week, rows, days_present=week.days()[:5], previous=previous)
    assert meter.vs_previous is None
    with pytest.raises(ValueError, match="expected"):
        build_meter_week(PDL, week, rows, days_present=(), previous=meter_week(week, 1.0))
    with pytest.raises(ValueError, match="expected"):
        build_meter_week(
            PDL, week, rows, days_present=(), year_before=meter_week(week.previous(), 1.0)
        )


def test_weather_corrected_change() -> None:
    week = IsoWeek(2026, 48)
    previous = meter_week(week.previous(), 100.0)
    # Expected kWh per day from the weather: 18 this (colder) week, 15 the week before.
    expected = dict.fromkeys(week.days(), 18.0) | dict.fromkeys(week.previous().days(), 15.0)
    meter = build_meter_week(
        PDL,
        week,
        flat_rows(week, 130.0),
        days_present=week.days(),
        previous=previous,
        expected_kwh=expected,
    )
    change = meter.vs_previous
    assert change is not None
    # 30 kWh more, 21 of which the colder week explains (7 x 3 kWh): +9 kWh, +9 %.
    assert change.weather_kwh == pytest.approx(21.0)
    assert change.corrected_kwh == pytest.approx(9.0)
    assert change.corrected_percent == pytest.approx(9.0)
    # A callable that does not know a day: no weather correction.
    meter = build_meter_week(
        PDL,
        week,
        flat_rows(week, 130.0),
        days_present=week.days(),
        previous=previous,
        expected_kwh=lambda day: None if day == week.sunday else 15.0,
    )
    assert meter.vs_previous is not None
    assert meter.vs_previous.weather_kwh is None
    assert meter.vs_previous.corrected_kwh is None


def test_incomplete_week_max_power_baseload_findings() -> None:
    week = IsoWeek(2026, 48)
    days = week.days()
    at = datetime(2026, 11, 24, 19, 12, tzinfo=PARIS)
    findings = [
        Finding(FindingKind.UNUSUAL_DAY, days[1], 35.2, 20.1, "kWh", 4.2),
        Finding(FindingKind.BASELOAD_HIGH, days[0] - timedelta(days=1), 400, 300, "W", 5.0),
        Finding(FindingKind.BASELOAD_HIGH, days[0], 412.0, 300.0, "W", 5.0),
    ]
    meter = build_meter_week(
        PDL,
        week,
        flat_rows(week, 80.0),
        days_present=days[:5],
        max_power={
            days[0] - timedelta(days=1): (9900, at - timedelta(days=2)),  # not this week
            days[0]: (6100, datetime(2026, 11, 23, 8, tzinfo=PARIS)),
            days[1]: (7650, at),
            days[3]: (7650, datetime(2026, 11, 26, 20, tzinfo=PARIS)),
        },
        baseloads={days[0] - timedelta(days=1): 900.0, days[0]: 300.0, days[1]: 320.0},
        findings=findings,
    )
    assert not meter.complete
    assert meter.missing_days == (date(2026, 11, 28), date(2026, 11, 29))
    assert meter.max_power == MaxPower(days[1], 7650, at)
    assert meter.baseload_w == 310.0
    assert meter.findings == (findings[2], findings[0])


# --- several meters, JSON -------------------------------------------------------------------


def test_multi_meter_total_is_the_sum() -> None:
    week = IsoWeek(2026, 48)
    first = meter_week(
        week,
        100.0,
        cost_eur=25.0,
        split_kwh={Bucket.HP: 60.0, Bucket.HC: 40.0},
        vs_previous=Change(week.previous(), 80.0, 20.0, 5.0),
    )
    second = meter_week(
        week,
        50.0,
        pdl="98765432109876",
        cost_eur=12.5,
        split_kwh={Bucket.BLUE_HP: 30.0, Bucket.BLUE_HC: 20.0},
        production_kwh=40.0,
        revenue_eur=5.2,
        vs_previous=Change(week.previous(), 70.0, -20.0, -1.0),
        vs_year_before=Change(week.year_before(), 45.0, 5.0),
    )
    total = WeeklyReport(week, (first, second)).total
    assert total.consumption_kwh == 150.0
    assert total.cost_eur == 37.5
    assert total.split_kwh == {
        Bucket.HP: 60.0,
        Bucket.HC: 40.0,
        Bucket.BLUE_HP: 30.0,
        Bucket.BLUE_HC: 20.0,
    }
    assert (total.production_kwh, total.revenue_eur, total.self_consumption_kwh) == (
        40.0,
        5.2,
        None,
    )
    assert total.vs_previous == Change(week.previous(), 150.0, 0.0, 4.0)
    assert total.vs_year_before is None  # the first meter has no year before
    assert total.meters == 2
    assert total.complete
    without_cost = meter_week(week, 10.0, pdl="11111111111111", missing=(week.sunday,))
    total = WeeklyReport(week, (first, second, without_cost)).total
    assert total.consumption_kwh == 160.0
    assert total.cost_eur is None  # one meter has no tariff: no total cost
    assert total.split_kwh == {}
    assert total.incomplete == ("11111111111111",)
    with pytest.raises(ValueError, match="is about"):
        WeeklyReport(week.previous(), (first,))


def full_meter(week: IsoWeek) -> MeterWeek:
    return meter_week(
        week,
        123.456,
        cost_eur=27.891,
        split_kwh={Bucket.HP: 80.123, Bucket.HC: 43.333},
        production_kwh=45.0,
        self_consumption_kwh=30.125,
        revenue_eur=3.2,
        vs_previous=Change(week.previous(), 110.25, 13.206, 15.5),
        vs_year_before=Change(week.year_before(), 130.0, -6.544),
        max_power=MaxPower(date(2026, 11, 24), 7650, datetime(2026, 11, 24, 19, 12, tzinfo=PARIS)),
        baseload_w=312.4,
        findings=(
            Finding(FindingKind.UNUSUAL_DAY, date(2026, 11, 24), 35.2, 20.1, "kWh", 4.21),
            Finding(
                FindingKind.THRESHOLD_EXCEEDED,
                date(2026, 11, 29),
                32.1,
                30.0,
                "EUR",
                limit=Limit.WEEKLY_EUR,
            ),
        ),
        missing=(date(2026, 11, 29),),
    )


def test_json_round_trip() -> None:
    week = IsoWeek(2026, 48)
    meter = full_meter(week)
    data = json.loads(json.dumps(meter.as_dict()))
    assert MeterWeek.from_dict(data) == meter
    assert data["complete"] is False
    assert data["vs_previous"]["percent"] == pytest.approx(12.0, abs=0.05)
    report = WeeklyReport(week, (meter, meter_week(week, 10.0, pdl="98765432109876")))
    stored = json.loads(json.dumps(report.as_dict()))
    assert WeeklyReport.from_dict(stored) == report
    assert stored["total"]["consumption_kwh"] == 133.456
    # Full precision is rounded to 3 decimals once; reading it back changes nothing more.
    rows = week_rows(week)
    precise = build_meter_week(PDL, week, rows, days_present=week.days())
    once = precise.as_dict()
    assert MeterWeek.from_dict(once).as_dict() == once
    assert once["consumption_kwh"] == round(precise.consumption_kwh, 3)


# --- texts ----------------------------------------------------------------------------------


def test_render_english_and_french() -> None:
    week = IsoWeek(2026, 48)
    report = WeeklyReport(week, (full_meter(week),))
    title, body = render(report, "en")
    assert "2026-W48" in title
    assert "23\u201329 Nov 2026" in title
    for text in (
        "**123.5 kWh**",
        "€27.89",
        "+13.2 kWh (+12%)",
        "2026-W47",
        "weather-corrected -2.3 kWh (-2%)",
        "-6.5 kWh (-5%)",
        "Peak 80.1 kWh (65%)",
        "Off-peak 43.3 kWh (35%)",
        "7.7 kVA on Tue 24 Nov at 19:12",
        "312 W",
        "Unusual day on Tue 24 Nov: 35.2 kWh vs 20.1 kWh expected",
        "Production: 45.0 kWh",
        "self-consumed 30.1 kWh",
        "revenue €3.20",
        "missing days Sun 29 Nov",
    ):
        assert text in body, text
    assert "Total" not in body
    title, body = render(report, "fr-FR")
    assert "Bilan" in title
    assert "23\u201329 nov. 2026" in title
    for text in (
        "**123,5 kWh**",
        "27,89 €",
        "+13,2 kWh (+12 %)",
        "-6,5 kWh (-5 %)",
        "HP 80,1 kWh (65 %)",
        "HC 43,3 kWh (35 %)",
        "7,7 kVA le mar. 24 nov. à 19:12",
        "312 W",
        "Journée inhabituelle le mar. 24 nov. : 35,2 kWh au lieu de 20,1 kWh attendus",
        "autoconsommé 30,1 kWh",
        "revente 3,20 €",
        "Semaine incomplète : jours manquants dim. 29 nov.",
    ):
        assert text in body, text
    assert "." not in body.split("**")[1]  # the French decimal comma


def test_render_several_meters_has_the_total() -> None:
    week = IsoWeek(2026, 53)
    second = meter_week(week, 1234.5, pdl="98765432109876", cost_eur=1500.0)
    first = meter_week(week, 100.0, cost_eur=20.0)
    report = WeeklyReport(week, (first, second))
    title, body = render(report, "en", names={PDL: "Home"})
    assert "28 Dec 2026 \u2013 3 Jan 2027" in title
    assert "### Meter Home" in body
    assert "### Meter 98765432109876" in body
    assert "### Total of 2 meters" in body
    assert "**1,334.5 kWh**" in body
    assert "€1,520.00" in body
    assert "not comparable" in body
    _, body = render(report, "fr")
    assert "**1\u202f334,5 kWh**" in body
    assert "1\u202f520,00 €" in body


@pytest.mark.parametrize(
    ("finding", "english", "french"),
    [
        (
            Finding(FindingKind.BASELOAD_HIGH, date(2026, 11, 24), 412.4, 300.0, "W", 5.0),
            "Night baseload high on Tue 24 Nov: 412 W vs 300 W expected",
            "Talon de nuit élevé le mar. 24 nov. : 412 W au lieu de 300 W attendus",
        ),
        (
            Finding(FindingKind.BASELOAD_DRIFT, date(2026, 11, 24), 350.0, 300.0, "W", 9.0),
            "Night baseload creeping up (Tue 24 Nov): 350 W vs 300 W usual",
            "Talon de nuit en hausse progressive (mar. 24 nov.) : 350 W pour 300 W habituels",
        ),
        (
            Finding(
                FindingKind.THRESHOLD_EXCEEDED,
                date(2026, 11, 24),
                31.25,
                30.0,
                "kWh",
                limit=Limit.DAILY_KWH,
            ),
            "Daily consumption limit exceeded on Tue 24 Nov: 31.2 kWh (limit 30.0 kWh)",
            "Seuil journalier dépassé le mar. 24 nov. : 31,2 kWh (seuil 30,0 kWh)",
        ),
        (
            Finding(
                FindingKind.THRESHOLD_EXCEEDED,
                date(2026, 11, 29),
                32.1,
                30.0,
                "EUR",
                limit=Limit.WEEKLY_EUR,
            ),
            "Weekly cost limit exceeded (week ending Sun 29 Nov): €32.10 (limit €30.00)",
            "Seuil de coût hebdomadaire dépassé (semaine finissant le dim. 29 nov.) : "
            "32,10 € (seuil 30,00 €)",
        ),
        (
            Finding(
                FindingKind.THRESHOLD_EXCEEDED,
                date(2026, 11, 24),
                8100,
                7200.0,
                "VA",
                limit=Limit.MAX_POWER,
            ),
            "Max power limit exceeded on Tue 24 Nov: 8.1 kVA (limit 7.2 kVA)",
            "Seuil de puissance dépassé le mar. 24 nov. : 8,1 kVA (seuil 7,2 kVA)",
        ),
    ],
)
def test_finding_text(finding: Finding, english: str, french: str) -> None:
    assert finding_text(finding, "en") == english
    assert finding_text(finding, "de") == english
    assert finding_text(finding, "fr") == french
