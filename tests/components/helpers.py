"""Helpers shared by the Home Assistant component tests (entries, flows, statistics)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_import_statistics,
    statistics_during_period,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import Emulator
from conso_emulator.truth import outdoor_temperature
from custom_components.linky.const import (
    CONF_BASE_URL,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_PDL,
    CONF_PRODUCTION,
    CONF_PRODUCTION_PDL,
    CONF_TOKEN,
    DOMAIN,
)
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.localtime import PARIS
from custom_components.linky.options import OPTIONS_VERSION
from custom_components.linky.runtime.derived import DerivedPart

KWH = Decimal(1000)

PriceOf = Callable[[date, int, date], Decimal | None]
"""Price (EUR/kWh) at minute-of-day `m` of local date `d` (Tempo day `t`); None: unpriced."""


def derived_part[P: DerivedPart](entry: MockConfigEntry, kind: type[P]) -> P:
    """The entry's derived part of that kind (it must exist)."""
    parts = [part for part in entry.runtime_data.derived if isinstance(part, kind)]
    assert len(parts) == 1, kind
    return parts[0]


def meter_entry(emulator: Emulator, url: str, pdl: str, **options: Any) -> MockConfigEntry:
    """An entry for `pdl` on the emulator at `url`, one month of hourly history."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {pdl}",
        unique_id=pdl,
        minor_version=OPTIONS_VERSION,
        data={
            CONF_TOKEN: emulator.mint_token([pdl], issued_at=datetime(2026, 1, 1, tzinfo=UTC)),
            CONF_PDL: pdl,
            CONF_BASE_URL: url,
        },
        options={CONF_HOURLY_HISTORY_MONTHS: 1, **options},
    )


def production_meter_entry(
    emulator: Emulator, url: str, pdl: str, production_pdl: str
) -> MockConfigEntry:
    """An entry for `pdl` whose production is read from another meter, `production_pdl`
    (the token covers both)."""
    base = meter_entry(
        emulator, url, pdl, **{CONF_PRODUCTION: True, CONF_PRODUCTION_PDL: production_pdl}
    )
    token = emulator.mint_token([pdl, production_pdl], issued_at=datetime(2026, 1, 1, tzinfo=UTC))
    return MockConfigEntry(
        domain=DOMAIN,
        title=base.title,
        unique_id=pdl,
        minor_version=base.minor_version,
        data={**base.data, CONF_TOKEN: token},
        options=dict(base.options),
    )


async def setup_integration(hass: HomeAssistant, entry: MockConfigEntry) -> LinkyCoordinator:
    """Add and set up the entry (unless saving options already did: they reload it), let
    its first run (started at once) finish and the recorder write what it queued; return
    the entry's meter coordinator."""
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    if entry.state is not ConfigEntryState.LOADED:
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert entry.state is ConfigEntryState.LOADED
    coordinator: LinkyCoordinator = entry.runtime_data.coordinator
    return coordinator


async def options_flow(
    hass: HomeAssistant, entry: MockConfigEntry, step: str, *forms: dict
) -> None:
    """Pick `step` in the options menu and submit `forms` in turn; the entry is saved (and
    set up again), and everything it started is done."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    for form in forms:
        assert result["type"] is FlowResultType.FORM, result
        result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def statistic_rows(
    hass: HomeAssistant,
    stat_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict]:
    """The hourly rows (state, sum) of a statistic, oldest first."""
    await async_wait_recording_done(hass)
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        start or datetime(2020, 1, 1, tzinfo=UTC),
        end,
        {stat_id},
        "hour",
        None,
        {"state", "sum"},
    )
    return stats.get(stat_id, [])


def by_hour(rows: list[dict]) -> dict[datetime, float]:
    """The state of each row by its UTC hour start."""
    return {dt_util.utc_from_timestamp(row["start"]): row["state"] for row in rows}


def assert_sums_exact(rows: list[dict], *, from_zero: bool = False) -> None:
    """Every state is not negative and every sum is the previous sum plus the state (from
    0 for the first row when `from_zero`: the rows are the whole series)."""
    assert rows
    previous = 0.0 if from_zero else rows[0]["sum"] - rows[0]["state"]
    for row in rows:
        assert row["state"] >= 0
        assert row["sum"] == pytest.approx(previous + row["state"], abs=1e-6)
        previous = row["sum"]


def hand_costs(truth: dict[datetime, int], price_of: PriceOf) -> dict[datetime, Decimal]:
    """EUR per UTC hour computed minute by minute from the emulator's truth (energy assumed
    flat within the hour), independently of the tariff engine."""
    costs: dict[datetime, Decimal] = {}
    for hour, wh in truth.items():
        local = hour.astimezone(PARIS)
        day = local.date()
        total = Decimal(0)
        for minute in range(local.hour * 60, local.hour * 60 + 60):
            tempo_day = day if minute >= 6 * 60 else day - timedelta(days=1)
            price = price_of(day, minute, tempo_day)
            if price is None:
                break
            total += Decimal(wh) / 60 / KWH * price
        else:
            costs[hour] = total
    return costs


def import_sensor_temperatures(
    hass: HomeAssistant, entity_id: str, first: date, last: date
) -> None:
    """Hourly mean statistics of an outdoor temperature sensor: the emulator's daily mean
    each hour, from `first` to `last`."""
    metadata = StatisticMetaData(
        mean_type=StatisticMeanType.ARITHMETIC,
        has_sum=False,
        name="Outdoor",
        source="recorder",
        statistic_id=entity_id,
        unit_class="temperature",
        unit_of_measurement="°C",
    )
    rows = []
    day = first
    while day <= last:
        start = datetime.combine(day, time(), PARIS).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), PARIS).astimezone(UTC)
        value = outdoor_temperature(day)
        hour = start
        while hour < end:
            rows.append(StatisticData(start=hour, mean=value, min=value, max=value))
            hour += timedelta(hours=1)
        day += timedelta(days=1)
    async_import_statistics(hass, metadata, rows)


type Fired = list[tuple[str, dict[str, Any]]]


def capture_insight_events(hass: HomeAssistant, pdl: str) -> Fired:
    """The events the insights entity of `pdl` fires (type, data), in order. (Its state
    restored when it is added again, after unavailable, is not a new event.)"""
    fired: Fired = []

    @callback
    def changed(event: Event) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if not event.data["entity_id"].endswith(f"{pdl}_insights"):
            return
        if new is None or old is None or old.state == STATE_UNAVAILABLE:
            return
        if (kind := new.attributes.get("event_type")) is not None:
            data = {k: v for k, v in new.attributes.items() if k not in {"event_types"}}
            fired.append((kind, data))

    hass.bus.async_listen(EVENT_STATE_CHANGED, changed)
    return fired


def event_keys(fired: Fired, kind: str | None = None) -> list[tuple[str, str | None]]:
    return [(k, data.get("day") or data.get("week")) for k, data in fired if kind in {None, k}]


def sensor_state(hass: HomeAssistant, pdl: str, key: str) -> str:
    """The state of the meter's sensor `key` (unique id `<pdl>_<key>`)."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{pdl}_{key}")
    assert entity_id is not None, key
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state
