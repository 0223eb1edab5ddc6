"""PV self-consumption of a meter: hourly statistics and yesterday's figures.

When the options name the user's PV production sensor (`pv_entity`, an energy sensor with
long-term statistics), the meter gets:

- the statistic `linky:<pdl>_self_consumption` (kWh per hour): PV production (the sensor's
  recorded hourly change) minus the Linky injection (the meter's production series; zero
  when production is not imported, i.e. no injection), clamped at 0;
- yesterday's self-consumed energy, self-consumption rate and self-sufficiency rate, for
  the sensors (complete local days only, see `analytics.self_consumption`).

Computed from what the recorder holds (no Conso API request), after each import run and at
start; only complete days are written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any, Final

from homeassistant.components.recorder.models import StatisticMetaData
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import PERCENTAGE, UnitOfEnergy
from homeassistant.util import dt as dt_util

from ..analytics.self_consumption import DayFigures, self_consumption
from ..const import LOGGER, SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..energy.hourly import local_day_bounds
from ..energy.ledger import DayData, SeriesLedger
from ..localtime import local_date
from ..options import LinkyOptions
from ..statistics import series_metadata, statistic_id
from .derived import DerivedSeries, PartContext, PartSensorDescription, Written

SERIES_SELF_CONSUMPTION: Final = "self_consumption"
KEEP_DAYS: Final = 40
"""Days of figures kept in the Store (the sensors show yesterday's)."""


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _yesterday(
    pick: Callable[[DayFigures], float | None],
) -> Callable[[SelfConsumption], float | None]:
    """A sensor value function reading a figure of yesterday (None until it is complete)."""

    def value(part: SelfConsumption) -> float | None:
        figures = part.yesterday
        return None if figures is None else pick(figures)

    return value


class SelfConsumption(DerivedSeries):
    """Keeps one meter's self-consumption series and yesterday's figures up to date."""

    key = "self_consumption"
    statistics = (SERIES_SELF_CONSUMPTION,)
    sensor_descriptions = (
        PartSensorDescription["SelfConsumption"](
            key="self_consumed_yesterday",
            translation_key="self_consumed_yesterday",
            device_class=SensorDeviceClass.ENERGY,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=2,
            value_fn=_yesterday(lambda day: round(day.self_consumed_wh / 1000, 3)),
        ),
        PartSensorDescription["SelfConsumption"](
            key="self_consumption_rate_yesterday",
            translation_key="self_consumption_rate_yesterday",
            native_unit_of_measurement=PERCENTAGE,
            suggested_display_precision=0,
            value_fn=_yesterday(lambda day: _percent(day.self_consumption_rate)),
        ),
        PartSensorDescription["SelfConsumption"](
            key="self_sufficiency_rate_yesterday",
            translation_key="self_sufficiency_rate_yesterday",
            native_unit_of_measurement=PERCENTAGE,
            suggested_display_precision=0,
            value_fn=_yesterday(lambda day: _percent(day.self_sufficiency_rate)),
        ),
    )

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        self.pv_entity: str = context.options.pv_entity or ""
        self.injection = SERIES_PRODUCTION in context.series
        self.days: dict[date, DayFigures] = {}

    @classmethod
    def wanted(cls, options: LinkyOptions) -> bool:
        """When the options name a PV production sensor."""
        return options.pv_entity is not None

    @property
    def yesterday(self) -> DayFigures | None:
        """Yesterday's (local) figures, when the day is complete."""
        return self.days.get(self.today - timedelta(days=1))

    def metadata(self, name: str) -> StatisticMetaData:
        """kWh per hour."""
        return series_metadata(self.pdl, name, "self-consumption")

    def _restore(self, saved: Mapping[str, Any]) -> None:
        self.ledgers = {SERIES_SELF_CONSUMPTION: SeriesLedger.from_dict(saved.get("ledger") or {})}
        self.days = {
            date.fromisoformat(day): DayFigures(**figures)
            for day, figures in saved.get("days", {}).items()
        }

    def _state_to_save(self) -> dict[str, Any]:
        ledger = self.ledgers.get(SERIES_SELF_CONSUMPTION)
        return {
            "ledger": {} if ledger is None else ledger.as_dict(),
            "days": {
                day.isoformat(): asdict(figures)
                for day, figures in sorted(self.days.items())[-KEEP_DAYS:]
            },
        }

    async def _async_catch_up(self) -> None:
        """Every stored day the first time, then the days since the last one computed (the
        PV sensor's recent hours may have been missing)."""
        ledger = self.ledgers.get(SERIES_SELF_CONSUMPTION)
        if ledger is None or (last := ledger.last_day) is None:
            await self._async_update(None)
            return
        await self._async_update(
            {last + timedelta(days=n) for n in range(-1, (self.today - last).days + 1)}
        )

    async def _async_after_run(self, written: Written) -> None:
        days: set[date] = set()
        for series_days in written.values():
            days |= series_days
        if days:
            await self._async_update(days)

    async def _async_recompute(self) -> None:
        await self._async_update(None)

    async def _async_update(self, days: set[date] | None) -> None:
        """Recompute `days` (None: every day with data)."""
        start = local_day_bounds(min(days))[0] if days else dt_util.utc_from_timestamp(0)
        end = local_day_bounds(max(days))[1] if days else None
        grid = await self._async_read_hourly(
            statistic_id(self.pdl, SERIES_CONSUMPTION), start, end, "state"
        )
        production = await self._async_read_hourly(self.pv_entity, start, end, "change")
        injection = (
            await self._async_read_hourly(
                statistic_id(self.pdl, SERIES_PRODUCTION), start, end, "state"
            )
            if self.injection
            else dict.fromkeys(grid, 0.0)
        )
        result = await self.hass.async_add_executor_job(
            self_consumption, production, injection, grid
        )
        complete = {
            day: figures
            for day, figures in result.days.items()
            if figures.complete and (days is None or day in days)
        }
        self.days.update(complete)
        if result.clamped:
            LOGGER.debug(
                "%s: injection above the PV production in %s hours (clamped)",
                self.pdl,
                len(result.clamped),
            )
        await self._async_write(
            SERIES_SELF_CONSUMPTION,
            [
                DayData.hourly(
                    day,
                    {
                        hour: figures.self_consumed_wh
                        for hour, figures in result.hours.items()
                        if local_date(hour) == day
                    },
                )
                for day in sorted(complete)
            ],
        )
