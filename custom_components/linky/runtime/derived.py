"""Derived parts: what an entry computes from the energy already stored, never from the API.

A derived part (costs, self-consumption, typical peak hours, and the next ones) is a class
registered in `runtime/__init__.py` (`DERIVED_PARTS`), with one lifecycle driven by the
runtime and the meter coordinator:

- `create(context)`: an instance when the options ask for it, else None;
- `async_start()`: restore its saved state, then catch up in the background;
- `async_after_run(written)`: after each import run, with the days it wrote per series;
- `async_recompute()`: everything again (the energy series were rebuilt);
- `async_unload()`; `async_remove(...)` (class method) when the entry is deleted.

The base class is the skeleton every part shares: one lock, errors logged and never raised
(a part must not break the energy import), its Store (`linky.<entry_id>.<key>`), its sensor
descriptions and listeners. `DerivedSeries` adds what writes statistics need: a ledger per
derived series, exact writes through `plan_write` (`energy/ledger.py`) and the recorder reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Self

from homeassistant.components.recorder.models import StatisticMetaData
from homeassistant.components.sensor import SensorEntityDescription
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from ..atomic import AtomicSteps
from ..conso.models import MaxPower
from ..const import DOMAIN, LOGGER, SERIES_CONSUMPTION
from ..energy.ledger import DayData, SeriesLedger, plan_write
from ..localtime import local_date
from ..options import LinkyOptions
from ..statistics import (
    async_check_series,
    async_write_plan,
    read_hourly_wh,
    read_stored_days,
    statistic_id,
)
from .notify import Notifier
from .store import entry_store
from .tempo_source import TempoCoordinator

type Written = Mapping[str, set[date]]
"""Days written by an import run, per energy series (`consumption`, `production`)."""


@dataclass(frozen=True, slots=True)
class PartContext:
    """What a part may use: the entry, its options, the energy series it imports, and the
    parts it depends on (explicitly, never through another part)."""

    hass: HomeAssistant
    entry: ConfigEntry
    pdl: str
    options: LinkyOptions
    series: tuple[str, ...]
    tempo: TempoCoordinator | None
    upstream: tuple[DerivedPart, ...] = ()
    """The parts built before this one (`DERIVED_PARTS` order), whose series it may read."""
    shed_days: Callable[[], Collection[date]] = frozenset
    """The local days this integration shed loads on (load shedding)."""
    max_power: Callable[[], Mapping[date, MaxPower]] = dict
    """The daily max power the meter coordinator imported (the last 60 days)."""


@dataclass(frozen=True, kw_only=True)
class PartSensorDescription[P](SensorEntityDescription):
    """A sensor showing a figure of a part (unique id `<pdl>_<key>`)."""

    value_fn: Callable[[P], StateType]
    attr_fn: Callable[[P], Mapping[str, Any] | None] = lambda _part: None


class DerivedPart(Notifier, ABC):
    """The skeleton of a derived part (see the module docstring)."""

    key: ClassVar[str]
    """Names the part in logs and its Store file."""
    stored: ClassVar[bool] = True
    """Whether the part keeps a Store file."""
    statistics: ClassVar[tuple[str, ...]] = ()
    """The derived statistics it may write (`linky:<pdl>_<name>`), cleared on request."""
    sensor_descriptions: ClassVar[tuple[PartSensorDescription[Any], ...]] = ()

    def __init__(self, context: PartContext) -> None:
        self.context = context
        self.hass = context.hass
        self.entry = context.entry
        self.pdl = context.pdl
        super().__init__()
        self._lock = asyncio.Lock()
        self._caught_up = asyncio.Event()

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    def create(cls, context: PartContext) -> Self | None:
        """An instance when the options ask for this part, else None."""
        return cls(context) if cls.wanted(context.options) else None

    @classmethod
    @abstractmethod
    def wanted(cls, options: LinkyOptions) -> bool:
        """Whether the options ask for this part."""

    async def async_start(self) -> None:
        """Restore the saved state, then catch up in the background."""
        if self.stored:
            saved = await entry_store(self.hass, self.entry.entry_id, self.key).async_load()
            try:
                self._restore(saved or {})
            except (AttributeError, KeyError, TypeError, ValueError) as err:
                LOGGER.warning("Saved %s state of %s is unreadable (%s)", self.key, self.pdl, err)
                self._restore({})

        async def first_update() -> None:
            try:
                await self._async_guarded(self._async_first_update)
            finally:
                self._caught_up.set()

        self.entry.async_create_background_task(
            self.hass, first_update(), f"{DOMAIN} {self.key} {self.pdl}"
        )

    async def async_wait_caught_up(self) -> None:
        """Wait until the part has caught up at start (the meter's runs wait for it)."""
        await self._caught_up.wait()

    async def async_wait_idle(self) -> None:
        """Wait until the part has caught up at start and is not updating (a part that
        reads what this one writes calls it before reading)."""
        await self.async_wait_caught_up()
        async with self._lock:
            pass

    async def _async_first_update(self) -> None:
        """The first update of the process: catch up with what is stored."""
        await self._async_catch_up()

    async def async_after_run(self, written: Written) -> None:
        """After an import run: derive what the written days change."""
        await self._async_guarded(lambda: self._async_after_run(written))

    async def async_recompute(self) -> None:
        """Derive everything again from what is stored."""
        await self._async_guarded(self._async_recompute)

    async def async_temperatures_changed(self) -> None:
        """Daily temperatures were imported: update what the weather changes (nothing by
        default; the next run reads them anyway)."""

    async def async_forget_before(self, day: date) -> list[str]:
        """The recorder deletes the rows before `day` (the data-retention option): forget
        them too. Returns the statistics (names) the part writes: none here."""
        return []

    async def async_unload(self) -> None:
        """Stop (the entry unloads); the state is saved after every update already."""

    def diagnostics(self) -> dict[str, Any] | None:
        """What the diagnostics download shows of the part (None: nothing)."""
        return None

    @classmethod
    async def async_remove(
        cls, hass: HomeAssistant, entry_id: str, pdl: str, clear_statistics: bool
    ) -> None:
        """Forget the part's state of a deleted entry, and its statistics if asked."""
        if cls.stored:
            await entry_store(hass, entry_id, cls.key).async_remove()
        if clear_statistics and cls.statistics:
            get_instance(hass).async_clear_statistics(
                [statistic_id(pdl, name) for name in cls.statistics]
            )

    # --- what each part implements ---------------------------------------------------------

    def _restore(self, saved: Mapping[str, Any]) -> None:
        """Take back the saved state (`saved` is empty the first time). Raise on bad data."""

    def _state_to_save(self) -> dict[str, Any]:
        """The state to save after each update."""
        return {}

    @abstractmethod
    async def _async_catch_up(self) -> None:
        """At start, in the background: bring the part up to date with what is stored."""

    @abstractmethod
    async def _async_after_run(self, written: Written) -> None:
        """See `async_after_run`."""

    @abstractmethod
    async def _async_recompute(self) -> None:
        """See `async_recompute`."""

    # --- shared machinery -----------------------------------------------------------------

    async def _async_guarded(self, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` under the part's lock; log its errors (never raise), then save the state
        and tell the listeners."""
        async with self._lock:
            try:
                await job()
            except Exception:  # never let a derived part break the energy import
                LOGGER.exception("Could not update the %s of %s", self.key, self.pdl)
                return
            if self.stored:
                await entry_store(self.hass, self.entry.entry_id, self.key).async_save(
                    self._state_to_save()
                )
        self._async_notify()

    @property
    def today(self) -> date:
        """Today in Europe/Paris."""
        return local_date(dt_util.utcnow())

    async def _async_executor[T](self, job: Callable[..., T], *args: Any) -> T:
        """Run `job(*args)` in the recorder's executor, once the recorder has written what
        was queued before (the run's rows)."""
        instance = get_instance(self.hass)
        await instance.async_block_till_done()
        return await instance.async_add_executor_job(job, *args)

    async def _async_read_days(self, series: str, days: set[date] | None) -> list[DayData]:
        """Stored days of one of the meter's energy series: those of `days`, or all (None)."""
        if days is not None and not days:
            return []
        return await self._async_executor(
            read_stored_days, self.hass, statistic_id(self.pdl, series), days
        )

    async def _async_read_hourly(
        self, stat_id: str, start: datetime, end: datetime | None, kind: str
    ) -> dict[datetime, float]:
        """Wh per UTC hour of any statistic (see `statistics.read_hourly_wh`)."""
        return await self._async_executor(read_hourly_wh, self.hass, stat_id, start, end, kind)


class WindowedPart(DerivedPart):
    """A part computed over the consumption of the days before today (its window): computed
    again when a run wrote a day of the window or a new day began (the window moved);
    back-fill runs, which write older days, leave it alone (no database read)."""

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        self._computed_on: date | None = None  # the local day the window was last read

    @abstractmethod
    def _window_start(self, today: date) -> date:
        """The first day of the window on `today`."""

    async def _async_catch_up(self) -> None:
        await self._async_recompute()

    async def _async_after_run(self, written: Written) -> None:
        today = self.today
        start = self._window_start(today)
        if self._computed_on == today and not any(
            day >= start for day in written.get(SERIES_CONSUMPTION, set())
        ):
            return
        await self._async_recompute()

    async def _async_recompute(self) -> None:
        self._computed_on = self.today
        await self._async_compute(self._computed_on)

    @abstractmethod
    async def _async_compute(self, today: date) -> None:
        """Compute the part over its window on `today`."""


class DerivedSeries(DerivedPart):
    """A derived part that writes statistics: one ledger per derived series it writes."""

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        self.ledgers: dict[str, SeriesLedger] = {}
        self._writes = AtomicSteps()

    async def async_unload(self) -> None:
        """Let the writes in progress finish (the ledgers must say what the recorder has)."""
        await self._writes.wait()

    async def async_forget_before(self, day: date) -> list[str]:
        """Forget the days before `day` in every ledger (their sum is kept as the base)."""

        async def forget() -> None:
            self.ledgers = {name: ledger.drop_before(day) for name, ledger in self.ledgers.items()}

        await self._async_guarded(forget)
        return list(self.statistics)

    @abstractmethod
    def metadata(self, name: str) -> StatisticMetaData:
        """The statistic metadata of the derived series `name`."""

    async def _async_first_update(self) -> None:
        """Check every derived series against the recorder first (the whole chain of sums):
        after a database reset, HA's recovery from a corrupt database file or an unload in
        the middle of a write, what is stored is derived again from the energy."""
        for name in self.statistics:
            stat_id = statistic_id(self.pdl, name)
            ledger = self.ledgers.get(name, SeriesLedger())
            if (problem := await async_check_series(self.hass, stat_id, ledger)) is not None:
                LOGGER.warning(
                    "Stored statistics %s disagree with the integration's ledger (%s): "
                    "deriving them again",
                    stat_id.replace(self.pdl, "<pdl>"),
                    problem,
                )
                self._clear_statistics()
                await self._async_recompute()
                return
        await self._async_catch_up()

    async def _async_write(self, name: str, days: Iterable[DayData]) -> None:
        """Store `days` of the derived series `name`, keeping every sum exact; the write
        and the ledger update are one step that an unload does not cut in two."""
        plan = plan_write(self.ledgers.get(name, SeriesLedger()), days)

        async def apply() -> None:
            if plan.rows or plan.adjustments:
                await async_write_plan(self.hass, self.metadata(name), plan)
            self.ledgers[name] = plan.ledger_after

        await self._writes.run(apply())

    def _clear_statistics(self) -> None:
        """Delete every derived series of the part (they are written again from scratch)."""
        get_instance(self.hass).async_clear_statistics(
            [statistic_id(self.pdl, name) for name in self.statistics]
        )
        self.ledgers = {}

    @staticmethod
    def _ledgers_from(saved: Any) -> dict[str, SeriesLedger]:
        return {name: SeriesLedger.from_dict(raw) for name, raw in (saved or {}).items()}

    def _ledgers_to_save(self) -> dict[str, Any]:
        return {name: ledger.as_dict() for name, ledger in self.ledgers.items()}
