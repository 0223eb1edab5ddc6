"""Writes the ledger's plans into Home Assistant's long-term statistics (the Energy dashboard).

External statistics `linky:<pdl>_<series>`: hourly rows at UTC hour starts, kWh,
`mean_type` none, `unit_class` energy, `has_sum`. Each plan's sum adjustments are queued
before its rows; the recorder runs its queue in order, which keeps every later row's sum
exact (see `energy/ledger.py`). Big plans are queued in chunks so the event loop is never
blocked for long.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime

from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.db_schema import Statistics
from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_metadata_with_session,
    statistics_during_period,
)
from homeassistant.components.recorder.tasks import RecorderTask
from homeassistant.const import UnitOfEnergy, UnitOfPower, UnitOfTemperature
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance, session_scope
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter

from .const import DOMAIN, LOGGER
from .energy.hourly import local_day_bounds
from .energy.ledger import (
    DayData,
    SeriesLedger,
    WritePlan,
    check_rows,
    days_from_rows,
    plan_write,
)

CHUNK_ROWS = 1000


@dataclass(slots=True)
class _DeleteRowsBefore(RecorderTask):
    """Delete the rows of some statistics older than `before` (in the recorder's thread,
    in its queue order: after the writes queued before it)."""

    statistic_ids: list[str]
    before: datetime

    def run(self, instance: Recorder) -> None:
        """Handle the task."""
        with session_scope(session=instance.get_session()) as session:
            metadata = get_metadata_with_session(
                instance, session, statistic_ids=set(self.statistic_ids)
            )
            ids = [metadata_id for metadata_id, _ in metadata.values()]
            if ids:
                session.query(Statistics).filter(
                    Statistics.metadata_id.in_(ids), Statistics.start_ts < self.before.timestamp()
                ).delete(synchronize_session=False)


@callback
def async_delete_rows_before(hass: HomeAssistant, stat_ids: list[str], before: datetime) -> None:
    """Queue the deletion of the rows of `stat_ids` that start before `before` (the
    data-retention option). The later rows keep their sums."""
    get_instance(hass).queue_task(_DeleteRowsBefore(stat_ids, before))


def statistic_id(pdl: str, series: str) -> str:
    """The external statistic id of a meter's series, e.g. `linky:12345678901234_consumption`."""
    return f"{DOMAIN}:{pdl}_{series}"


def series_metadata(
    pdl: str, series: str, label: str | None = None, *, currency: str | None = None
) -> StatisticMetaData:
    """Metadata of one of a meter's external series: summed, no mean, in kWh (energy unit
    class), or in `currency` (no unit class) for costs and revenues."""
    return StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name=f"Linky {pdl} {label or series}",
        source=DOMAIN,
        statistic_id=statistic_id(pdl, series),
        unit_class=None if currency else EnergyConverter.UNIT_CLASS,
        unit_of_measurement=currency or UnitOfEnergy.KILO_WATT_HOUR,
    )


async def async_write_plan(
    hass: HomeAssistant, metadata: StatisticMetaData, plan: WritePlan
) -> None:
    """Queue a plan's sum adjustments, then its rows in chunks (yielding between chunks),
    into the external statistic `metadata` describes (energy or cost alike)."""
    instance = get_instance(hass)
    unit = metadata["unit_of_measurement"] or ""
    for adjustment in plan.adjustments:
        instance.async_adjust_statistics(
            metadata["statistic_id"], adjustment.start, adjustment.delta_kwh, unit
        )
    for index in range(0, len(plan.rows), CHUNK_ROWS):
        async_add_external_statistics(
            hass,
            metadata,
            [
                StatisticData(start=row.start, state=row.state_kwh, sum=row.sum_kwh)
                for row in plan.rows[index : index + CHUNK_ROWS]
            ],
        )
        await asyncio.sleep(0)


class RecorderSink:
    """Applies write plans to the recorder for one meter."""

    def __init__(self, hass: HomeAssistant, pdl: str) -> None:
        self.hass = hass
        self.pdl = pdl

    async def async_write(self, series: str, plan: WritePlan) -> None:
        """Queue the plan's sum adjustments, then its rows, in chunks."""
        await async_write_plan(self.hass, series_metadata(self.pdl, series), plan)

    async def async_check_ledger(self, series: str, ledger: SeriesLedger) -> SeriesLedger | None:
        """Check a series against its ledger (the whole chain of sums, see `check_rows`);
        when they disagree, rewrite every stored row with sums recomputed from the stored
        states and return the ledger rebuilt from them, else None."""
        stat_id = statistic_id(self.pdl, series)
        problem = await async_check_series(self.hass, stat_id, ledger)
        if problem is None:
            return None
        LOGGER.warning(
            "Stored statistics %s disagree with the integration's ledger (%s): rebuilding "
            "the ledger and the sums from the stored hours",
            stat_id.replace(self.pdl, "<pdl>"),
            problem,
        )
        instance = get_instance(self.hass)
        days = await instance.async_add_executor_job(read_stored_days, self.hass, stat_id, None)
        if not days:
            return SeriesLedger()
        # A plan against an empty ledger has no sum adjustment: absolute sums everywhere.
        plan = await self.hass.async_add_executor_job(plan_write, SeriesLedger(), days)
        await self.async_write(series, plan)
        return plan.ledger_after


async def async_check_series(hass: HomeAssistant, stat_id: str, ledger: SeriesLedger) -> str | None:
    """What is wrong with a statistic against its ledger (see `energy.ledger.check_rows`),
    read in the recorder's executor once its pending writes are done; None when nothing."""
    instance = get_instance(hass)
    await instance.async_block_till_done()
    rows = await instance.async_add_executor_job(read_rows, hass, stat_id)
    return await hass.async_add_executor_job(check_rows, rows, ledger)


def read_rows(hass: HomeAssistant, stat_id: str) -> list[tuple[datetime, float, float]]:
    """Every stored row `(UTC start, state, sum)` of a statistic, oldest first (executor)."""
    stats = statistics_during_period(
        hass, dt_util.utc_from_timestamp(0), None, {stat_id}, "hour", None, {"state", "sum"}
    )
    return [
        (
            dt_util.utc_from_timestamp(row["start"]),
            float(row.get("state") or 0.0),
            float(row.get("sum") or 0.0),
        )
        for row in stats.get(stat_id, [])
    ]


def read_stored_days(hass: HomeAssistant, stat_id: str, days: set[date] | None) -> list[DayData]:
    """Read the stored rows of `days` (None: all) of an energy series as day data. Runs in the
    recorder's executor: reading and converting years of rows takes a while."""
    start = local_day_bounds(min(days))[0] if days else dt_util.utc_from_timestamp(0)
    end = local_day_bounds(max(days))[1] if days else None
    stats = statistics_during_period(hass, start, end, {stat_id}, "hour", None, {"state"})
    rows = [
        (dt_util.utc_from_timestamp(row["start"]), float(row.get("state") or 0.0))
        for row in stats.get(stat_id, [])
    ]
    return [data for data in days_from_rows(rows) if days is None or data.day in days]


_WH = {"energy": UnitOfEnergy.WATT_HOUR}


def read_hourly_wh(
    hass: HomeAssistant, stat_id: str, start: datetime, end: datetime | None, kind: str
) -> dict[datetime, float]:
    """Wh per UTC hour start of a statistic (`kind`: "state" for the Linky series, "change"
    for a sensor's statistics), in the recorder's executor."""
    stats = statistics_during_period(hass, start, end, {stat_id}, "hour", _WH, {kind})  # type: ignore[arg-type]
    return {
        dt_util.utc_from_timestamp(row["start"]): max(float(value), 0.0)
        for row in stats.get(stat_id, [])
        if isinstance(value := row.get(kind), int | float)
    }


def read_series_hourly(
    hass: HomeAssistant, stat_ids: set[str], start: datetime, end: datetime
) -> dict[str, dict[datetime, float]]:
    """The stored hourly values ("state": Wh for energy, EUR for money) of several
    statistics between `start` and `end`, per statistic id (executor)."""
    stats = statistics_during_period(hass, start, end, stat_ids, "hour", _WH, {"state"})  # type: ignore[arg-type]
    return {
        stat_id: {
            dt_util.utc_from_timestamp(row["start"]): float(value)
            for row in rows
            if isinstance(value := row.get("state"), int | float)
        }
        for stat_id, rows in stats.items()
    }


CELSIUS: dict[str, str] = {"temperature": UnitOfTemperature.CELSIUS}
WATT: dict[str, str] = {"power": UnitOfPower.WATT}
"""The units `read_hourly_means` converts to: a temperature sensor's °C; a power sensor's W
(a mean of W over one hour is that hour's Wh)."""


def read_hourly_means(
    hass: HomeAssistant,
    entity_id: str,
    start: datetime,
    end: datetime,
    units: dict[str, str] = CELSIUS,
) -> dict[datetime, float]:
    """The hourly means of a sensor's statistics in `units`, per UTC hour (executor)."""
    stats = statistics_during_period(hass, start, end, {entity_id}, "hour", units, {"mean"})
    return {
        dt_util.utc_from_timestamp(row["start"]): float(value)
        for row in stats.get(entity_id, [])
        if isinstance(value := row.get("mean"), int | float)
    }
