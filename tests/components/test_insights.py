"""Insights end to end: the emulator over 127.0.0.1, a real recorder, frozen time.

A household meter without electric heating gets known events injected in the emulator's
truth (a base load step of +300 W from a Thursday night, an unusual day 1.8 times the usual).
After its import:

- the insights event entity fires each finding once (the step, the unusual day), with the
  figures in the event data, and the weekly report of the last ISO week, whose kWh equal the
  emulator's truth;
- the notify entity chosen in the options gets one message with the findings and one weekly
  report; a restart (the entry set up again) and the next day's run repeat nothing;
- a meter with 20 days of history fires no anomaly (the baselines need 28 nights);
- a week whose Sunday is not published yet is not reported; after a restart the next
  morning, it is, once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import Emulator
from conso_emulator.meters import Meter
from custom_components.linky.analytics.isoweek import IsoWeek
from custom_components.linky.const import (
    CONF_DAILY_HISTORY_MONTHS,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_INSIGHTS,
    CONF_NOTIFY_ENTITIES,
    CONF_TARIFF,
    CONF_WEEKLY_LIMIT_EUR,
    DOMAIN,
)
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.energy.tariffs import Bucket, ContractOption, Tariff, TariffPeriod
from custom_components.linky.localtime import PARIS
from custom_components.linky.runtime.insights import InsightsPart

from .helpers import (
    capture_insight_events,
    derived_part,
    event_keys,
    meter_entry,
    setup_integration,
    statistic_rows,
)

PDL = "25946599093181"
NEW_PDL = "25946599093198"
NOW = "2026-11-23 09:30:00+01:00"  # a Monday: Sunday 22 is published at 08:00
STEP_DAY = date(2026, 11, 19)
UNUSUAL_DAY = date(2026, 11, 17)
WEEK = "2026-W47"  # 16 to 22 November
NOTIFY = "notify.phone"


def _insights_entry(emulator: Emulator, url: str, pdl: str) -> MockConfigEntry:
    return meter_entry(
        emulator,
        url,
        pdl,
        **{
            CONF_DAILY_HISTORY_MONTHS: 4,
            CONF_HOURLY_HISTORY_MONTHS: 3,
            CONF_INSIGHTS: {CONF_NOTIFY_ENTITIES: [NOTIFY]},
        },
    )


def _event_entity(hass: HomeAssistant, pdl: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{pdl}_insights")
    assert entity_id is not None
    return entity_id


def _truth_kwh(emulator: Emulator, pdl: str, first: date, last: date) -> float:
    start = datetime.combine(first, time(), PARIS).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), PARIS).astimezone(UTC)
    return sum(emulator.truth.hourly_wh(pdl, False, start, end).values()) / 1000


async def _next_run(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, coordinator: LinkyCoordinator
) -> None:
    assert coordinator.next_run is not None
    freezer.move_to(coordinator.next_run + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


@pytest.mark.freeze_time(NOW)
async def test_findings_and_weekly_report_told_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """The step and the unusual day fire once each, the weekly report once, with one
    notification each; a restart and the next day's run repeat nothing."""
    emulator.add_meter(
        Meter(
            PDL,
            profile="base",
            extra_base_w=((STEP_DAY, 300.0),),
            unusual_days=(UNUSUAL_DAY,),
        )
    )
    assert emulator.truth.is_published(PDL, date(2026, 11, 22))
    notified = async_mock_service(hass, "notify", "send_message")
    fired = capture_insight_events(hass, PDL)
    entry = _insights_entry(emulator, emulator_url, PDL)
    coordinator = await setup_integration(hass, entry)

    kinds = event_keys(fired)
    assert len(kinds) == len(set(kinds)), "each finding fires once"
    steps = [day for kind, day in kinds if kind == "baseload_high"]
    assert steps, kinds
    assert STEP_DAY <= date.fromisoformat(steps[0]) <= STEP_DAY + timedelta(days=3)
    assert ("unusual_day", UNUSUAL_DAY.isoformat()) in kinds
    assert event_keys(fired, "weekly_report") == [("weekly_report", WEEK)]
    assert kinds[-1][0] == "weekly_report", "the findings first"
    step = next(data for k, data in fired if k == "baseload_high")
    assert step["pdl"] == PDL
    assert step["value"] > step["expected"] + 250
    assert step["unit"] == "W"
    assert step["message"]
    report = next(data for k, data in fired if k == "weekly_report")
    truth = _truth_kwh(emulator, PDL, date(2026, 11, 16), date(2026, 11, 22))
    assert report["consumption_kwh"] == pytest.approx(truth, abs=0.01)
    assert report["complete"] is True
    previous = _truth_kwh(emulator, PDL, date(2026, 11, 9), date(2026, 11, 15))
    assert report["vs_previous"]["reference_kwh"] == pytest.approx(previous, abs=0.01)
    assert [finding["kind"] for finding in report["findings"]]

    diagnostics = derived_part(entry, InsightsPart).diagnostics()
    assert diagnostics["reported_week"] == WEEK
    assert diagnostics["events_held"] == 0
    assert diagnostics["event_entity_attached"] is True

    messages = [call.data for call in notified]
    assert [m["entity_id"] for m in messages] == [NOTIFY, NOTIFY]
    assert WEEK in messages[1]["title"], "the findings first, then the weekly report"
    assert "kWh" in messages[1]["message"]

    # A restart: nothing again.
    told = len(fired)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert len(fired) == told
    assert len(notified) == 2

    # The next day's run: Monday 23 is new; W47 is not reported again.
    coordinator = entry.runtime_data.coordinator
    await _next_run(hass, freezer, coordinator)
    assert coordinator.sync is not None
    assert coordinator.sync.has_day("consumption", date(2026, 11, 23))
    assert event_keys(fired, "weekly_report") == [("weekly_report", WEEK)]
    assert len(event_keys(fired)) == len(set(event_keys(fired)))
    assert all(m["title"] and WEEK not in m["title"] for m in messages[2:])

    state = hass.states.get(_sensor(hass, PDL, "night_baseload"))
    assert state is not None
    assert float(state.state) > 300
    assert state.attributes["median_28_nights"] is not None
    week_state = hass.states.get(_sensor(hass, PDL, "last_week_consumption"))
    assert week_state is not None
    assert float(week_state.state) == pytest.approx(truth, abs=0.01)


@pytest.mark.freeze_time(NOW)
async def test_first_run_waits_for_the_catch_up(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """At set-up, the insights catch up with what is stored before the first run requests
    anything: they never read an import half written (findings of a partial history told,
    then the others in a second message)."""
    emulator.add_meter(Meter(PDL, profile="base", extra_base_w=((STEP_DAY, 300.0),)))
    notified = async_mock_service(hass, "notify", "send_message")
    requests_seen: list[int] = []
    catch_up = InsightsPart._async_catch_up

    async def slow_catch_up(part: InsightsPart) -> None:
        for _ in range(500):  # give a concurrent run every chance to request (same loop)
            if emulator.requests:
                break
            await asyncio.sleep(0)
        requests_seen.append(len(emulator.requests))
        await catch_up(part)

    with patch.object(InsightsPart, "_async_catch_up", slow_catch_up):
        await setup_integration(hass, _insights_entry(emulator, emulator_url, PDL))

    assert requests_seen == [0]
    assert emulator.requests, "the run followed"
    assert len(notified) == 2, "one message with the findings, one weekly report"


def _sensor(hass: HomeAssistant, pdl: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{pdl}_{key}")
    assert entity_id is not None, key
    return entity_id


@pytest.mark.freeze_time(NOW)
async def test_nothing_fires_before_the_baselines_exist(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """20 days of history and a big step 5 days ago: no anomaly (28 nights needed); the
    weekly report still comes."""
    today = date(2026, 11, 23)
    emulator.add_meter(
        Meter(
            NEW_PDL,
            profile="base",
            activation_date=today - timedelta(days=20),
            extra_base_w=((today - timedelta(days=5), 1000.0),),
        )
    )
    async_mock_service(hass, "notify", "send_message")
    fired = capture_insight_events(hass, NEW_PDL)
    await setup_integration(hass, _insights_entry(emulator, emulator_url, NEW_PDL))
    assert [kind for kind, _ in fired] == ["weekly_report"]
    state = hass.states.get(_sensor(hass, NEW_PDL, "night_baseload"))
    assert state is not None
    assert state.attributes["median_28_nights"] is None


@pytest.mark.freeze_time("2026-11-23 07:00:00+01:00")
async def test_week_reported_once_after_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """At 07:00 on Monday, Sunday is not published: no report. Home Assistant stops, and
    starts again after 08:00: the import brings Sunday and the week is reported, once."""
    emulator.add_meter(Meter(PDL, profile="base"))
    notified = async_mock_service(hass, "notify", "send_message")
    fired = capture_insight_events(hass, PDL)
    entry = _insights_entry(emulator, emulator_url, PDL)
    await setup_integration(hass, entry)
    assert event_keys(fired, "weekly_report") == []
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    freezer.move_to("2026-11-23 09:45:00+01:00")
    await setup_integration(hass, entry)
    coordinator: LinkyCoordinator = entry.runtime_data.coordinator
    runs = 0
    while not event_keys(fired, "weekly_report") and runs < 3:
        await _next_run(hass, freezer, coordinator)
        runs += 1
    assert event_keys(fired, "weekly_report") == [("weekly_report", WEEK)]
    assert [call.data["title"] for call in notified if WEEK in call.data["title"]] == [
        next(call.data["title"] for call in notified if WEEK in call.data["title"])
    ]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(event_keys(fired, "weekly_report")) == 1
    assert sum(WEEK in call.data["title"] for call in notified) == 1


@pytest.mark.freeze_time(NOW)
async def test_weekly_cost_and_split_equal_the_stored_statistics(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """With an HP/HC contract whose prices (and subscription) change in the middle of the
    week: the report's
    EUR is the sum of the stored cost rows of the week (to 0.01 EUR), its HP and HC kWh the
    sums of the stored bucket rows, and a weekly cost limit below it fires on the Sunday."""
    emulator.add_meter(Meter(PDL, profile="base"))
    fired = capture_insight_events(hass, PDL)
    hphc = {Bucket.HP: Decimal("0.2081"), Bucket.HC: Decimal("0.1635")}
    tariff = Tariff(
        (
            TariffPeriod(
                date(2026, 1, 1), ContractOption.HPHC, hphc, subscription_monthly=Decimal("15.5")
            ),
            TariffPeriod(
                date(2026, 11, 19),
                ContractOption.HPHC,
                {Bucket.HP: Decimal("0.25"), Bucket.HC: Decimal("0.18")},
            ),
        )
    )
    entry = meter_entry(
        emulator,
        emulator_url,
        PDL,
        **{
            CONF_DAILY_HISTORY_MONTHS: 4,
            CONF_HOURLY_HISTORY_MONTHS: 3,
            CONF_INSIGHTS: {CONF_WEEKLY_LIMIT_EUR: 1.0},
            CONF_TARIFF: tariff.as_dict(),
        },
    )
    await setup_integration(hass, entry)
    report = next(data for kind, data in fired if kind == "weekly_report")
    start, end = IsoWeek(2026, 47).bounds()

    async def week_sum(series: str) -> float:
        rows = await statistic_rows(hass, f"linky:{PDL}_{series}", start, end)
        return sum(row["state"] for row in rows if start <= _utc(row["start"]) < end)

    cost = await week_sum("consumption_cost") + await week_sum("fixed_cost")
    assert cost > 1.0
    assert report["cost_eur"] == pytest.approx(cost, abs=0.01)
    assert report["split_kwh"]["hp"] == pytest.approx(await week_sum("consumption_hp"), abs=0.01)
    assert report["split_kwh"]["hc"] == pytest.approx(await week_sum("consumption_hc"), abs=0.01)
    assert report["split_kwh"]["hp"] + report["split_kwh"]["hc"] == pytest.approx(
        report["consumption_kwh"], abs=0.01
    )
    limits = [data for kind, data in fired if kind == "threshold_exceeded"]
    assert [(d["limit"], d["day"]) for d in limits if d["limit"] == "weekly_eur"] == [
        ("weekly_eur", "2026-11-22")
    ]
    weekly = next(d for d in limits if d["limit"] == "weekly_eur")
    assert weekly["value"] == pytest.approx(cost, abs=0.01)
    assert weekly["expected"] == 1.0


def _utc(start: float) -> datetime:
    return datetime.fromtimestamp(start, UTC)
