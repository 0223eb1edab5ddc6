"""Cost statistics of a meter, derived from its stored energy and its tariff.

The series and the maths are in `energy/costs.py`. They are computed from the energy rows
already in the recorder, never from the API: after each run for the days that run wrote,
and all over again (zero Conso API requests) when the tariff changed (its hash differs from
the one they were computed with) or the energy series were rebuilt. Days of a Tempo period
whose colours are not known yet are retried after each run ("pending").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from homeassistant.components.recorder.models import StatisticMetaData

from ..const import LOGGER, SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..energy.costs import (
    ALL_SERIES,
    MONEY_SERIES,
    SERIES_COST,
    SERIES_FIXED,
    SERIES_REVENUE,
    compute_days,
    tariff_hash,
    tempo_days_needed,
)
from ..energy.ledger import DayData
from ..energy.tariffs import ColourLookup, Tariff
from ..options import LinkyOptions
from ..statistics import series_metadata
from .derived import DerivedSeries, PartContext, Written

CURRENCY: Final = "EUR"
CHUNK_DAYS: Final = 31
"""Days computed and written per step of a big (re)computation, between two yields."""
_NAMES: Final = {
    SERIES_COST: "consumption cost",
    SERIES_FIXED: "fixed cost",
    SERIES_REVENUE: "production revenue",
}


class CostSeries(DerivedSeries):
    """Keeps one meter's cost series in step with its energy series and tariff."""

    key = "costs"
    statistics = ALL_SERIES

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        self.tariff: Tariff | None = context.options.tariff
        self.pending: set[date] = set()
        self.computed_hash: str | None = None

    @classmethod
    def wanted(cls, options: LinkyOptions) -> bool:
        """Always: without a tariff it removes the cost series a former tariff wrote."""
        return True

    @property
    def wanted_hash(self) -> str | None:
        """The hash of what the derived series should be computed with now."""
        return tariff_hash(self.tariff, self.context.series)

    def metadata(self, name: str) -> StatisticMetaData:
        """EUR for costs and revenue, kWh for the energy per tariff period."""
        label = _NAMES.get(name) or f"consumption {name.removeprefix('consumption_').upper()}"
        currency = CURRENCY if name in MONEY_SERIES else None
        return series_metadata(self.pdl, name, label.replace("_", " "), currency=currency)

    def _restore(self, saved: Mapping[str, Any]) -> None:
        try:
            self.ledgers = self._ledgers_from(saved.get("ledgers"))
            self.pending = {date.fromisoformat(day) for day in saved.get("pending", [])}
            self.computed_hash = saved.get("hash")
        except (AttributeError, TypeError, ValueError) as err:
            LOGGER.warning("Cost state of %s is unreadable (%s): recomputing", self.pdl, err)
            self.ledgers, self.pending, self.computed_hash = {}, set(), "unreadable"

    def _state_to_save(self) -> dict[str, Any]:
        return {
            "hash": self.computed_hash,
            "ledgers": self._ledgers_to_save(),
            "pending": sorted(day.isoformat() for day in self.pending),
        }

    async def _async_catch_up(self) -> None:
        """Everything when the tariff changed, else the days waiting for Tempo colours."""
        await self._async_after_run({})

    async def _async_after_run(self, written: Written) -> None:
        if self.computed_hash != self.wanted_hash:
            await self._async_recompute()
        elif self.tariff is not None:
            days: dict[str, set[date] | None] = {
                series: set(written.get(series, set())) for series in self.context.series
            }
            days[SERIES_CONSUMPTION] = (days[SERIES_CONSUMPTION] or set()) | self.pending
            await self._async_compute(days)

    async def _async_recompute(self) -> None:
        """Clear every cost series, then derive them again from all stored energy rows."""
        LOGGER.info("Recomputing the cost statistics of %s", self.pdl)
        self._clear_statistics()
        self.pending = set()
        if self.tariff is not None:
            await self._async_compute(dict.fromkeys(self.context.series))
        self.computed_hash = self.wanted_hash

    async def _async_compute(self, written: Mapping[str, set[date] | None]) -> None:
        """Derive the given days (None: all stored days) of each energy series, oldest
        first, a chunk of days at a time."""
        tariff = self.tariff
        if tariff is None:  # pragma: no cover - callers check
            return
        consumption = await self._async_read_days(
            SERIES_CONSUMPTION, written.get(SERIES_CONSUMPTION, set())
        )
        production = (
            await self._async_read_days(SERIES_PRODUCTION, written.get(SERIES_PRODUCTION, set()))
            if SERIES_PRODUCTION in self.context.series
            else []
        )
        chunks: dict[int, tuple[list[DayData], list[DayData]]] = {}
        for index, days in enumerate((consumption, production)):
            for data in days:
                chunks.setdefault(data.day.toordinal() // CHUNK_DAYS, ([], []))[index].append(data)
        for key in sorted(chunks):
            cons_days, prod_days = chunks[key]
            colours = await self._async_fill_colours(tariff, cons_days)
            result = await self.hass.async_add_executor_job(
                compute_days, tariff, colours, cons_days, prod_days
            )
            self.pending = (self.pending - {data.day for data in cons_days}) | result.pending
            for name, days in result.days.items():
                await self._async_write(name, days)
            await asyncio.sleep(0)

    async def _async_fill_colours(self, tariff: Tariff, days: list[DayData]) -> ColourLookup:
        """Learn the Tempo colours the days need (cached; a few requests at most)."""
        tempo = self.context.tempo
        if tempo is None:
            return lambda _day: None
        if needed := tempo_days_needed(tariff, days):
            await tempo.source.async_fill(needed)
        return tempo.source.cache.colour
