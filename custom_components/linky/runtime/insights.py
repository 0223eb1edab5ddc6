"""Insights of a meter: night base load, anomalies, limits and the weekly report.

Computed from what is stored (no Conso API request) at start and after each import run:
`analytics/insights.py` decides what is found and which week is due, `analytics/weekly.py`
builds the week from the stored series, `insight_sources.py` reads the temperature and the
holidays, `reports.py` tells. Days of load shedding by this integration, holidays the user
flagged and days not stored are left out of every baseline.

Each finding and each week is told once: what was told is saved (with the events held for the
event entity until it exists), so a restart neither repeats nor loses anything. A muted kind
fires no event and sends no message; the sensors still show the figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import PERCENTAGE, UnitOfEnergy, UnitOfPower
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.util import dt as dt_util

from ..analytics.anomalies import Finding, WeatherModel, check_thresholds
from ..analytics.insights import (
    HISTORY_DAYS,
    BaseloadFigures,
    Limits,
    MeterHistory,
    WeekInputs,
    baseload_figures,
    find,
    week_due,
)
from ..analytics.report_text import finding_text, render
from ..analytics.signature import Signature
from ..analytics.weekly import IsoWeek, MeterWeek, Rows, WeeklyReport
from ..const import SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..energy.costs import ALL_SERIES
from ..energy.hourly import local_day_bounds
from ..energy.ledger import Resolution
from ..localtime import local_date
from ..options import WEEKLY_REPORT, InsightsOptions, LinkyOptions
from ..statistics import read_series_hourly, statistic_id
from .derived import DerivedPart, PartContext, PartSensorDescription, Written
from .insight_sources import async_day_temperatures, async_read_holidays
from .reports import Targets, async_get_hub, async_tell_findings
from .self_consumption import SERIES_SELF_CONSUMPTION
from .signature import SignaturePart
from .store import entry_store

TOLD_KEPT: Final = timedelta(days=HISTORY_DAYS)
OUTBOX_MAX: Final = 50
"""Events held for the event entity at most (it is disabled, or never added)."""
WEEK_SERIES: Final = (SERIES_CONSUMPTION, SERIES_PRODUCTION, *ALL_SERIES, SERIES_SELF_CONSUMPTION)

type FireEvent = Callable[[str, dict[str, Any]], None]


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _baseload_attributes(part: InsightsPart) -> dict[str, Any] | None:
    figures = part.baseload
    if figures is None:
        return None
    return {
        "night": figures.night.isoformat(),
        "median_28_nights": _round(figures.median_28),
        "nights": figures.nights,
    }


def _week_attributes(part: InsightsPart) -> dict[str, Any] | None:
    week = part.last_week
    return None if week is None else week.as_dict()


def _change_percent(part: InsightsPart) -> float | None:
    week = part.last_week
    change = None if week is None else week.vs_previous
    return None if change is None else _round(change.percent)


SENSORS: Final = (
    PartSensorDescription["InsightsPart"](
        key="night_baseload",
        translation_key="night_baseload",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda part: None if part.baseload is None else _round(part.baseload.watts),
        attr_fn=_baseload_attributes,
    ),
    PartSensorDescription["InsightsPart"](
        key="last_week_consumption",
        translation_key="last_week_consumption",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=lambda part: None if part.last_week is None else part.last_week.consumption_kwh,
        attr_fn=_week_attributes,
    ),
    PartSensorDescription["InsightsPart"](
        key="last_week_cost",
        translation_key="last_week_cost",
        device_class=SensorDeviceClass.MONETARY,
        native_unit_of_measurement="EUR",
        suggested_display_precision=2,
        value_fn=lambda part: None if part.last_week is None else part.last_week.cost_eur,
    ),
    PartSensorDescription["InsightsPart"](
        key="last_week_change",
        translation_key="last_week_change",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=_change_percent,
    ),
)


def _analyse(
    history: MeterHistory, limits: Limits, today: date, model: WeatherModel | None
) -> tuple[BaseloadFigures | None, list[Finding]]:
    """The base load figures and the findings of the recent days (in the executor)."""
    return baseload_figures(history, today), find(history, limits, today, model)


class InsightsPart(DerivedPart):
    """Finds and tells what is wrong, and sums each week up, for one meter."""

    key = "insights"
    sensor_descriptions = SENSORS

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        settings = context.options.insights
        assert settings is not None  # see `wanted`
        self.settings: InsightsOptions = settings
        self.targets = Targets.of(settings)
        self.told: dict[str, Finding] = {}
        self.reported: IsoWeek | None = None
        self.last_week: MeterWeek | None = None
        self.baseload: BaseloadFigures | None = None
        self._outbox: list[tuple[str, dict[str, Any]]] = []
        self._fire: FireEvent | None = None
        self._hub = async_get_hub(self.hass)

    @classmethod
    def wanted(cls, options: LinkyOptions) -> bool:
        """When the insights are on."""
        return options.insights is not None

    async def async_start(self) -> None:
        """Join the weekly message (its week is awaited from now on), then start."""
        if self.settings.tells(WEEKLY_REPORT):
            self._hub.join(self.entry.entry_id, self.targets, self.pdl, self.entry.title)
        await super().async_start()

    # --- events -----------------------------------------------------------------------------

    @callback
    def async_attach_events(self, fire: FireEvent) -> CALLBACK_TYPE:
        """Fire the part's events with `fire` (the held ones at once)."""
        self._fire = fire
        if self._outbox:
            held, self._outbox = self._outbox, []
            for event_type, data in held:
                fire(event_type, data)
            self._async_save_soon()

        @callback
        def detach() -> None:
            self._fire = None

        return detach

    def _emit(self, event_type: str, data: dict[str, Any]) -> None:
        if self._fire is not None:
            self._fire(event_type, data)
        else:
            self._outbox = [*self._outbox, (event_type, data)][-OUTBOX_MAX:]

    # --- state ------------------------------------------------------------------------------

    def _restore(self, saved: Mapping[str, Any]) -> None:
        self.told = {
            (finding := Finding.from_dict(raw)).key: finding for raw in saved.get("told", [])
        }
        self.reported = IsoWeek.parse(saved["reported"]) if saved.get("reported") else None
        self.last_week = MeterWeek.from_dict(saved["last_week"]) if saved.get("last_week") else None
        self._outbox = [(str(kind), dict(data)) for kind, data in saved.get("outbox", [])]

    def _state_to_save(self) -> dict[str, Any]:
        return {
            "told": [finding.as_dict() for finding in self.told.values()],
            "reported": None if self.reported is None else str(self.reported),
            "last_week": None if self.last_week is None else self.last_week.as_dict(),
            "outbox": [[kind, data] for kind, data in self._outbox],
        }

    def _async_save_soon(self) -> None:
        entry_store(self.hass, self.entry.entry_id, self.key).async_delay_save(
            self._state_to_save, 1
        )

    def diagnostics(self) -> dict[str, Any]:
        """Counts and choices (no figure that would identify the household)."""
        return {
            "findings_told": len(self.told),
            "reported_week": None if self.reported is None else str(self.reported),
            "events_held": len(self._outbox),
            "event_entity_attached": self._fire is not None,
            "notify_entities": len(self.targets.notify_entities),
            "persistent_notification": self.targets.persistent,
            "muted": sorted(self.settings.muted),
            "temperature_source": self.context.options.temperature_entity is not None,
            "holiday_source": self.settings.holiday_entity is not None,
        }

    async def async_unload(self) -> None:
        """The meter's week is no longer awaited by the weekly message."""
        self._hub.leave(self.entry.entry_id)

    # --- updates ----------------------------------------------------------------------------

    async def _async_catch_up(self) -> None:
        await self._async_update()

    async def _async_after_run(self, written: Written) -> None:
        await self._async_update()

    async def _async_recompute(self) -> None:
        await self._async_update()

    async def _async_update(self) -> None:
        for part in self.context.upstream:  # the cost and self-consumption series it reads
            await part.async_wait_idle()
        now = dt_util.utcnow()
        today = local_date(now)
        history = await self._async_history(today)
        options = self.context.options
        limits = Limits(
            self.settings.daily_limit_kwh, self.settings.max_power_share, options.subscribed_kva
        )
        # the detectors learn a year of nights and days: not on the event loop
        self.baseload, found = await self.hass.async_add_executor_job(
            _analyse, history, limits, today, self._signature()
        )
        hourly = options.meter.hourly_history_months > 0
        ready = history.hourly_days if hourly else None
        if (due := week_due(now, self.reported, history.days_kwh.keys(), ready)) is not None:
            week = await self._async_build_week(due[0], history, found)
            self.reported, self.last_week = week.week, week
        new = [f for f in found if f.key not in self.told and self.settings.tells(f.kind)]
        language = self.hass.config.language
        for finding in new:
            self.told[finding.key] = finding
            message = finding_text(finding, language)
            self._emit(finding.kind, {"pdl": self.pdl, **finding.as_dict(), "message": message})
        self.told = {k: f for k, f in self.told.items() if f.day > today - TOLD_KEPT}
        await async_tell_findings(self.hass, self.pdl, self.entry.title, self.targets, new)
        if due is not None and self.last_week is not None and self.settings.tells(WEEKLY_REPORT):
            report = WeeklyReport(due[0], (self.last_week,))
            title, message = render(report, language, {self.pdl: self.entry.title})
            self._emit(
                WEEKLY_REPORT, {**self.last_week.as_dict(), "title": title, "message": message}
            )
            await self._hub.async_submit(self.entry.entry_id, self.last_week)
        await self._hub.async_poll()

    async def _async_history(self, today: date) -> MeterHistory:
        """What the detectors read: the stored days of the last `HISTORY_DAYS` days, the
        temperatures, the days left out and the daily max power."""
        first = today - timedelta(days=HISTORY_DAYS)
        wanted = {first + timedelta(days=n) for n in range(HISTORY_DAYS)}
        stored = await self._async_read_days(SERIES_CONSUMPTION, wanted)
        hourly: dict[datetime, float] = {}
        for data in stored:
            if data.resolution is Resolution.HOURLY:
                hourly.update(data.hours)
        start, end = local_day_bounds(first)[0], local_day_bounds(today)[0]
        temperatures = await async_day_temperatures(
            self.hass, self.entry.entry_id, self.context.options.temperature_entity, start, end
        )
        excluded = frozenset(self.context.shed_days())
        if entity_id := self.settings.holiday_entity:
            excluded |= await async_read_holidays(self.hass, entity_id, start, end)
        return MeterHistory(
            days_kwh={data.day: data.total_wh / 1000 for data in stored},
            hourly_wh=hourly,
            temperatures=temperatures,
            excluded=excluded,
            max_power=dict(self.context.max_power()),
        )

    async def _async_build_week(
        self, week: IsoWeek, history: MeterHistory, found: list[Finding]
    ) -> MeterWeek:
        """The meter's week, compared with the week before and the same week a year ago,
        with the weekly cost limit checked on its Sunday (added to `found`)."""
        year_before = week.year_before()
        rows = await self._async_week_rows(week.previous().bounds()[0], week.bounds()[1])
        old_rows = await self._async_week_rows(*year_before.bounds())
        old_days = {
            data.day
            for data in await self._async_read_days(SERIES_CONSUMPTION, set(year_before.days()))
        }
        present = set(history.days_kwh)
        inputs = WeekInputs.of(history, self._signature())

        def build(which: IsoWeek, source: Rows, days: set[date], **refs: Any) -> MeterWeek:
            return inputs.build(self.pdl, which, source, days, self._told_or_new(found), **refs)

        previous = build(week.previous(), rows, present)
        old = build(year_before, old_rows, old_days) if old_days else None
        meter_week = build(week, rows, present, previous=previous, year_before=old)
        over = check_thresholds(
            week.sunday,
            week_eur=meter_week.cost_eur,
            weekly_limit_eur=self.settings.weekly_limit_eur,
        )
        if over:
            found += over
            meter_week = build(week, rows, present, previous=previous, year_before=old)
        return meter_week

    def _signature(self) -> WeatherModel | None:
        """The expectation of the meter's energy signature, if it has one."""
        for part in self.context.upstream:
            if isinstance(part, SignaturePart) and isinstance(part.signature, Signature):
                return WeatherModel.of(part.signature)
        return None

    def _told_or_new(self, found: list[Finding]) -> list[Finding]:
        """The findings told and those about to be (muted kinds left out), each once."""
        every = {f.key: f for f in (*self.told.values(), *found) if self.settings.tells(f.kind)}
        return list(every.values())

    async def _async_week_rows(
        self, start: datetime, end: datetime
    ) -> dict[str, dict[datetime, float]]:
        """The stored rows of the meter's series between `start` and `end`, by series name."""
        ids = {statistic_id(self.pdl, name): name for name in WEEK_SERIES}
        rows = await self._async_executor(read_series_hourly, self.hass, set(ids), start, end)
        return {ids[stat_id]: values for stat_id, values in rows.items()}
