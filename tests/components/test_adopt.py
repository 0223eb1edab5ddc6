"""Adopting another Linky tool's history: statistics written the way the ha-linky add-on
writes them (`linky:<prm>`, Wh, hourly rows with `state` the hour's energy and `sum` from 0,
older days as one bar at local midnight) in a real recorder are copied before this meter's
own history, exactly, without a request, idempotently, reversibly until confirmed, and the
Energy dashboard is switched only when asked (costs kept)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.energy.data import async_get_manager
from homeassistant.components.recorder.models import StatisticData, StatisticMetaData
from homeassistant.components.recorder.models.statistics import StatisticMeanType
from homeassistant.components.recorder.statistics import async_add_external_statistics
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, PV_PDL, Emulator
from custom_components.linky.const import DOMAIN, ISSUE_ADOPT
from custom_components.linky.energy.hourly import day_hours, local_day_bounds
from custom_components.linky.localtime import PARIS
from custom_components.linky.statistics import statistic_id

from .helpers import (
    assert_sums_exact,
    by_hour,
    meter_entry,
    production_meter_entry,
    setup_integration,
    statistic_rows,
)

NOW = "2026-11-20 09:30:00+01:00"
OURS = statistic_id(HOME_PDL, "consumption")
ADDON = f"linky:{HOME_PDL}"
COST = "sensor.grid_cost"
DAILY_DAYS = 150
"""The add-on's oldest days in `_addon_rows`, stored as one bar at local midnight."""


def _addon_rows(first_own: date) -> tuple[list[tuple[datetime, float]], dict[date, float]]:
    """What the add-on would have stored: 420 days before `first_own` (the older DAILY_DAYS
    as one bar at local midnight, the others hour by hour, with both DST changes among them,
    one day with 3 hours missing) and 10 days that overlap this meter's own history. Returns the
    rows (UTC start, Wh) and the expected Wh per adopted day."""
    rows: list[tuple[datetime, float]] = []
    expected: dict[date, float] = {}
    start = first_own - timedelta(days=420)
    for n in range(430):
        day = start + timedelta(days=n)
        if n < DAILY_DAYS:
            wh = 9000.0 + 10 * n
            rows.append((local_day_bounds(day)[0], wh))
        else:
            hours = day_hours(day)
            if n == 300:
                hours = hours[:-3]  # a day the add-on stored only part of
            values = [200.0 + (i * 37 + n) % 500 for i in range(len(hours))]
            rows.extend(zip(hours, values, strict=True))
            wh = sum(values)
            if n == 300:
                continue
        if day < first_own:
            expected[day] = wh
    return rows, expected


def _write_addon(
    hass: HomeAssistant, rows: list[tuple[datetime, float]], stat_id: str, unit: str = "Wh"
) -> None:
    """The rows as the add-on imports them (`recorder/import_statistics`): source the id's
    prefix, `has_sum`, `state` the hour's energy, `sum` from 0, in `unit` (Wh: the add-on's)."""
    factor = {"Wh": 1.0, "kWh": 1000.0}.get(unit, 1.0)
    metadata = StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name=f"Linky {HOME_PDL}",
        source=stat_id.partition(":")[0],  # as the add-on: `linky`, `linky_prod`
        statistic_id=stat_id,
        unit_class=None,
        unit_of_measurement=unit,
    )
    running = 0.0
    data = []
    for start, wh in rows:
        running += wh / factor
        data.append(StatisticData(start=start, state=wh / factor, sum=running))
    async_add_external_statistics(hass, metadata, data)


async def _set_grid(hass: HomeAssistant, stat_energy_from: str) -> None:
    manager = await async_get_manager(hass)
    grid: Any = {
        "type": "grid",
        "stat_energy_from": stat_energy_from,
        "stat_energy_to": None,
        "stat_cost": COST,
        "entity_energy_price": None,
        "number_energy_price": None,
        "stat_compensation": None,
        "entity_energy_price_export": None,
        "number_energy_price_export": None,
    }
    await manager.async_update({"energy_sources": [grid]})


async def _grid(hass: HomeAssistant) -> dict[str, Any]:
    manager = await async_get_manager(hass)
    assert manager.data is not None
    source: dict[str, Any] = dict(manager.data["energy_sources"][0])
    return source


async def _call(
    hass: HomeAssistant, entry: MockConfigEntry, action: str, **data: Any
) -> dict[str, Any]:
    """Call one of the integration's actions for the entry; its response, once the
    recorder has written what it queued."""
    response = await hass.services.async_call(
        DOMAIN,
        action,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert isinstance(response, dict)
    return response


async def _adopt(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> dict[str, Any]:
    return await _call(hass, entry, "adopt_history", **data)


async def _import_csv(hass: HomeAssistant, entry: MockConfigEntry, path: str) -> dict[str, Any]:
    return await _call(hass, entry, "import_enedis_csv", path=path)


async def _setup_with_addon(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> tuple[MockConfigEntry, date, dict[date, float]]:
    """Set the meter up, write the add-on's series, reload (the offer is made at set-up)."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    coordinator = await setup_integration(hass, entry)
    assert coordinator.sync is not None
    first_own = coordinator.sync.state.series_state("consumption").ledger.first_day
    assert first_own is not None
    rows, expected = _addon_rows(first_own)
    _write_addon(hass, rows, ADDON)
    await async_wait_recording_done(hass)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry, first_own, expected


def _days_stored(rows: list[dict], before: date) -> dict[date, float]:
    days: dict[date, float] = {}
    for hour, kwh in by_hour(rows).items():
        day = hour.astimezone(PARIS).date()
        if day < before:
            days[day] = days.get(day, 0.0) + kwh * 1000
    return days


@pytest.mark.freeze_time(NOW)
async def test_adopt_preview_adopt_again_and_undo(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Preview writes nothing; adopt copies every complete day before the meter's own
    history (daily bars as DAILY days, hours to the Wh, both DST days), leaves the partial
    day out, keeps the sums one chain from 0 and the later rows' states, sends no request,
    switches the Energy dashboard when asked (cost kept); adopting again changes nothing; a
    restart agrees; undo removes the copy and switches the dashboard back."""
    entry, first_own, expected = await _setup_with_addon(hass, emulator, emulator_url)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_ADOPT}_{entry.entry_id}")
    assert issue is not None
    assert issue.is_fixable
    await _set_grid(hass, ADDON)
    own_before = await statistic_rows(hass, OURS)
    source = await statistic_rows(hass, ADDON)
    requests = len(emulator.requests)

    preview = await _adopt(hass, entry)
    [series] = preview["series"]
    assert series["sources"] == [ADDON]
    assert series["days"] == len(expected)
    assert series["hourly_days"] == len(expected) - DAILY_DAYS
    assert series["skipped"]["partial"] == 1
    # The 10 days after: stored by the meter (compared) or a gap of its own (left to it).
    assert series["overlap_days"] + series["skipped"].get("after_own_history", 0) == 10
    assert series["overlap_ratio"] is not None
    assert series["kwh"] == pytest.approx(sum(expected.values()) / 1000, abs=1e-3)
    assert preview["energy_dashboard"] == [
        {"type": "grid", "key": "stat_energy_from", "from": ADDON, "to": OURS}
    ]
    assert await statistic_rows(hass, OURS) == own_before  # nothing written
    assert (await _grid(hass))["stat_energy_from"] == ADDON

    adopted = await _adopt(hass, entry, mode="adopt", switch_energy_dashboard=True)
    assert adopted["written_days"] == {"consumption": len(expected)}
    assert adopted["energy_dashboard_switched"] is True
    grid = await _grid(hass)
    assert grid["stat_energy_from"] == OURS
    assert grid["stat_cost"] == COST
    rows = await statistic_rows(hass, OURS)
    assert_sums_exact(rows, from_zero=True)
    stored = _days_stored(rows, first_own)
    assert stored.keys() == expected.keys()
    for day, wh in expected.items():
        assert stored[day] == pytest.approx(wh, abs=1e-3), day
    # Every hourly day hour by hour, to the Wh (both DST days among them), each bar as one.
    hours = {h: kwh * 1000 for h, kwh in by_hour(rows).items()}
    first_hourly = first_own - timedelta(days=420 - DAILY_DAYS)
    for day in expected:
        stored_hours = [h for h in hours if h.astimezone(PARIS).date() == day]
        assert len(stored_hours) == (len(day_hours(day)) if day >= first_hourly else 1), day
    lengths = {len(day_hours(day)) for day in expected if day >= first_hourly}
    assert lengths == {23, 24, 25}
    addon_rows, _ = _addon_rows(first_own)
    for start, wh in addon_rows:
        if (day := start.astimezone(PARIS).date()) in expected and day >= first_hourly:
            assert hours[start] == pytest.approx(wh, abs=1e-6), start
    own = {h: s for h, s in by_hour(rows).items() if h >= local_day_bounds(first_own)[0]}
    assert own == by_hour(own_before)
    assert len(emulator.requests) == requests
    assert await statistic_rows(hass, ADDON) == source  # the source is never changed
    assert preview["adoption"] == {}
    assert adopted["adoption"]["consumption"]["days"] == len(expected)

    again = await _adopt(hass, entry, mode="adopt")
    assert again["written_days"] == {"consumption": 0}
    assert await statistic_rows(hass, OURS) == rows

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = entry.runtime_data.coordinator
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_ADOPT}_{entry.entry_id}") is None
    assert coordinator.next_run is not None
    freezer.move_to(coordinator.next_run + timedelta(seconds=1))
    await coordinator.async_run()
    await async_wait_recording_done(hass)
    assert "disagree" not in caplog.text

    undone = await _adopt(hass, entry, mode="undo")
    assert undone["undone"] == {"consumption": first_own.isoformat()}
    assert (await _grid(hass))["stat_energy_from"] == ADDON
    rows = await statistic_rows(hass, OURS)
    assert min(by_hour(rows)) == local_day_bounds(first_own)[0]
    assert_sums_exact(rows)
    assert await statistic_rows(hass, ADDON) == source


@pytest.mark.freeze_time(NOW)
async def test_named_sources_in_kwh_are_added_and_confirm_makes_it_final(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """Two named series in kWh (one per tariff period) are added hour by hour and converted;
    once confirmed, undo removes nothing; a missing, own or non-energy source is a clear
    error and writes nothing."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    coordinator = await setup_integration(hass, entry)
    assert coordinator.sync is not None
    first_own = coordinator.sync.state.series_state("consumption").ledger.first_day
    assert first_own is not None
    day = first_own - timedelta(days=3)
    hours = day_hours(day)
    for name, wh in (("hc", 100.0), ("hp", 250.0)):
        metadata = StatisticMetaData(
            mean_type=StatisticMeanType.NONE,
            has_sum=True,
            name=name,
            source="myelectricaldata",
            statistic_id=f"myelectricaldata:{HOME_PDL}_{name}_consumption",
            unit_class="energy",
            unit_of_measurement="kWh",
        )
        stats = [
            StatisticData(start=h, state=wh / 1000, sum=(i + 1) * wh / 1000)
            for i, h in enumerate(hours)
        ]
        async_add_external_statistics(hass, metadata, stats)
    await async_wait_recording_done(hass)
    own_before = await statistic_rows(hass, OURS)
    sources = [f"myelectricaldata:{HOME_PDL}_{n}_consumption" for n in ("hc", "hp")]

    for bad, key in (
        (["myelectricaldata:nothing"], "adopt_source_missing"),
        ([OURS], "adopt_source_own"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await _adopt(hass, entry, mode="adopt", consumption_sources=bad)
        assert err.value.translation_key == key
    assert await statistic_rows(hass, OURS) == own_before

    adopted = await _adopt(hass, entry, mode="adopt", consumption_sources=sources)
    assert adopted["written_days"] == {"consumption": 1}
    assert adopted["energy_dashboard"] == []  # several sources: no one id to replace
    rows = await statistic_rows(hass, OURS, end=local_day_bounds(day)[1])
    assert by_hour(rows) == {h.astimezone(UTC): pytest.approx(0.35) for h in hours}
    confirmed = await _adopt(hass, entry, mode="confirm")
    assert confirmed["confirmed"] == ["consumption"]
    assert (await _adopt(hass, entry, mode="undo"))["undone"] == {}
    assert len(await statistic_rows(hass, OURS)) == len(own_before) + len(hours)


@pytest.mark.freeze_time(NOW)
async def test_repair_flow_adopts_and_switches_the_dashboard(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """The offer raised at set-up opens a form that says what would be copied and which
    Energy dashboard statistic would change; submitting it adopts and switches."""
    entry, first_own, expected = await _setup_with_addon(hass, emulator, emulator_url)
    await _set_grid(hass, ADDON)
    issue_id = f"{ISSUE_ADOPT}_{entry.entry_id}"
    assert await async_setup_repairs(hass)
    flow = await _repair_flow(hass, issue_id)
    assert flow["type"] is FlowResultType.FORM
    assert f"{len(expected)}" in flow["description_placeholders"]["series"]
    assert OURS in flow["description_placeholders"]["energy"]
    done = await _repair_submit(hass, flow["flow_id"], {"switch_energy_dashboard": True})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    rows = await statistic_rows(hass, OURS)
    assert _days_stored(rows, first_own).keys() == expected.keys()
    assert (await _grid(hass))["stat_energy_from"] == OURS
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.freeze_time(NOW)
async def test_repair_flow_says_why_when_the_series_cannot_be_adopted(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """A found series that is not energy (here in W) closes the fix flow with the
    translated reason, not an error page, and writes nothing."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    coordinator = await setup_integration(hass, entry)
    assert coordinator.sync is not None
    first_own = coordinator.sync.state.series_state("consumption").ledger.first_day
    assert first_own is not None
    _write_addon(hass, [(h, 500.0) for h in day_hours(first_own - timedelta(days=2))], ADDON, "W")
    await async_wait_recording_done(hass)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    own_before = await statistic_rows(hass, OURS)
    assert await async_setup_repairs(hass)

    flow = await _repair_flow(hass, f"{ISSUE_ADOPT}_{entry.entry_id}")

    assert flow["type"] is FlowResultType.ABORT
    assert flow["reason"] == "adopt_failed"
    assert flow["description_placeholders"]["error"]
    assert await statistic_rows(hass, OURS) == own_before


@pytest.mark.freeze_time(NOW)
async def test_production_of_a_separate_meter_is_its_prms_linky_prod_series(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """The add-on names production after the PRM it reads (`linky_prod:<PRM>`): for a meter
    whose production comes from another PRM, that series (here in kWh) is offered with
    `linky:<PDL>` and copied into `linky:<PDL>_production`, to the Wh, in one exact chain."""
    entry = production_meter_entry(emulator, emulator_url, HOME_PDL, PV_PDL)
    coordinator = await setup_integration(hass, entry)
    assert coordinator.sync is not None
    first_own = coordinator.sync.state.series_state("consumption").ledger.first_day
    assert first_own is not None
    day = first_own - timedelta(days=2)
    produced = {h: 50.0 + 7 * i for i, h in enumerate(day_hours(day))}
    _write_addon(hass, [(h, 300.0) for h in day_hours(day)], ADDON)
    _write_addon(hass, list(produced.items()), f"linky_prod:{PV_PDL}", "kWh")
    await async_wait_recording_done(hass)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_ADOPT}_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {
        "pdl": HOME_PDL,
        "title": entry.title,
        "sources": f"{ADDON}, linky_prod:{PV_PDL}",
    }

    adopted = await _adopt(hass, entry, mode="adopt")

    assert adopted["written_days"] == {"consumption": 1, "production": 1}
    rows = await statistic_rows(hass, statistic_id(HOME_PDL, "production"))
    stored = {
        h: kwh * 1000 for h, kwh in by_hour(rows).items() if h.astimezone(PARIS).date() == day
    }
    assert stored == pytest.approx(produced)
    assert_sums_exact(rows, from_zero=True)


async def async_setup_repairs(hass: HomeAssistant) -> bool:
    return await async_setup_component(hass, "repairs", {})


async def _repair_flow(hass: HomeAssistant, issue_id: str) -> dict[str, Any]:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result: dict[str, Any] = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    return result


async def _repair_submit(hass: HomeAssistant, flow_id: str, data: dict) -> dict[str, Any]:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result: dict[str, Any] = await manager.async_configure(flow_id, data)
    return result


def _mes_donnees(prm: str, days: list[date]) -> tuple[str, dict[datetime, float]]:
    """An Enedis "Mes données" load curve (W per half hour, labels ending their interval,
    with their offset) of `days`, one bad line and a last line cut short; the Wh expected
    per UTC hour of those days."""
    lines = [
        "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;"
        "Grandeur metier;Etape metier;Unite;Pas en minutes",
        f"{prm};Courbe de charge;01/01/2025;01/01/2026;Energie active;Consommation;"
        "Comptage Brut;W;30",
        "",
        "Horodate;Valeur",
    ]
    expected: dict[datetime, float] = {}
    for day in days:
        start, end = local_day_bounds(day)
        n, moment = 0, start
        while moment < end:
            watts = 800 + (n * 53) % 900
            label = (moment + timedelta(minutes=30)).astimezone(PARIS)
            lines.append(f"{label.isoformat()};{watts}")
            hour = moment.replace(minute=0)
            expected[hour] = expected.get(hour, 0.0) + watts / 2
            n, moment = n + 1, moment + timedelta(minutes=30)
    lines.insert(10, "2025-01-01T00:30:00+01:00;abc")  # a bad value, reported
    return "\n".join(lines) + "\n2026-01-01T00:30:00+01:00;12", expected


@pytest.mark.freeze_time(NOW)
async def test_enedis_csv_import_fills_the_ledger_and_checks_the_meter(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """A "Mes données" curve of the meter is stored hour by hour (both DST days, and a day
    the meter had as a daily total), before its history too, in one exact chain, with no
    request and its bad lines reported; importing it again writes nothing; another meter's
    file writes nothing."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    coordinator = await setup_integration(hass, entry)
    assert coordinator.sync is not None
    ledger = coordinator.sync.state.series_state("consumption").ledger
    first_own = ledger.first_day
    assert first_own is not None
    older = first_own - timedelta(days=5)
    days = [older, date(2025, 10, 26), date(2026, 3, 29)]
    record = ledger.get(date(2026, 3, 29))
    assert record is not None
    assert record.resolution.value == "daily"
    text, expected = _mes_donnees(HOME_PDL, days)
    folder = Path(hass.config.config_dir) / "linky"
    folder.mkdir(exist_ok=True)
    (folder / "courbe.csv").write_text(text, encoding="utf-8-sig")
    foreign, _ = _mes_donnees("11111111111111", days)
    (folder / "autre.csv").write_text(foreign, encoding="utf-8")
    requests = len(emulator.requests)
    before = await statistic_rows(hass, OURS)

    with pytest.raises(ServiceValidationError) as err:
        await _import_csv(hass, entry, "linky/autre.csv")
    assert err.value.translation_key == "csv_foreign_prm"
    assert await statistic_rows(hass, OURS) == before

    response = await _import_csv(hass, entry, "linky/courbe.csv")
    assert response["series"] == "consumption"
    assert response["days_written"] == 3
    assert response["hourly_days"] == 3
    assert {problem["line"] for problem in response["problems"]} >= {11}
    rows = await statistic_rows(hass, OURS)
    assert_sums_exact(rows, from_zero=True)
    stored = by_hour(rows)
    for hour, wh in expected.items():
        assert stored[hour] * 1000 == pytest.approx(wh), hour
    assert sum(1 for h in expected if h.astimezone(PARIS).date() == date(2025, 10, 26)) == 25
    assert sum(1 for h in expected if h.astimezone(PARIS).date() == date(2026, 3, 29)) == 23
    assert len(emulator.requests) == requests

    again = await _import_csv(hass, entry, "linky/courbe.csv")
    assert again["days_written"] == 0
    assert again["days_already_stored"] == 3
    assert await statistic_rows(hass, OURS) == rows
