"""The typed options of a meter: one model for the flows and the runtime. No HA import.

A config entry stores them as JSON: `entry.options` (the keys of `const.py`) and one config
subentry per load to shed (type `load`, data = `Load.as_dict()`, in priority order).
`LinkyOptions.parse` reads both (a section that cannot be read is left out and named in
`problems`, so that one bad value never stops the energy import); `as_options` writes the
options back; the flows change the model with `dataclasses.replace` and save `as_options()`.

Versions (the config entry's minor version, see `migrate`):
- 1 (0.1.0): the loads are a list inside the load-shedding section;
- 2: the loads are config subentries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from .analytics.anomalies import FindingKind
from .const import (
    CONF_BATTERIES,
    CONF_CONTRACT_KVA,
    CONF_DAILY_HISTORY_MONTHS,
    CONF_DAILY_LIMIT_KWH,
    CONF_DWELL,
    CONF_HOLIDAY_ENTITY,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_INSIGHTS,
    CONF_LOAD_SHEDDING,
    CONF_LOADS,
    CONF_MAX_POWER_SHARE,
    CONF_MUTED,
    CONF_NOTIFY_ENTITIES,
    CONF_OFF_RATIO,
    CONF_ON_RATIO,
    CONF_PEAK_BUCKETS,
    CONF_PERSISTENT_NOTIFICATION,
    CONF_POWER_ENTITY,
    CONF_PRODUCTION,
    CONF_PRODUCTION_PDL,
    CONF_PV_ENTITY,
    CONF_REMOVE_STATISTICS,
    CONF_REQUEST_CAP,
    CONF_RETENTION_YEARS,
    CONF_STEP_INTERVAL,
    CONF_SUBSCRIBED_KVA,
    CONF_TARIFF,
    CONF_TEMPERATURE_ENTITY,
    CONF_TEMPO_ENTITY,
    CONF_TEMPO_TOMORROW_ENTITY,
    CONF_TEMPO_URL,
    CONF_WEEKLY_LIMIT_EUR,
    DEFAULT_DAILY_HISTORY_MONTHS,
    DEFAULT_HOURLY_HISTORY_MONTHS,
    DEFAULT_MAX_POWER_SHARE,
    DEFAULT_REQUEST_CAP,
    MAX_DAILY_HISTORY_MONTHS,
    MAX_HOURLY_HISTORY_MONTHS,
    MAX_REQUEST_CAP,
    MAX_RETENTION_YEARS,
    MIN_DAILY_HISTORY_MONTHS,
    MIN_HOURLY_HISTORY_MONTHS,
    MIN_REQUEST_CAP,
)
from .energy.tariffs import Bucket, Tariff, TariffError
from .shedding.controller import ControllerConfig
from .shedding.loads import Battery, Load
from .shedding.signals import DEFAULT_PEAK_BUCKETS, PowerThreshold
from .sync.model import SyncOptions

OPTIONS_VERSION: Final = 2
"""The config entry minor version written by this version (see the module docstring)."""

DEFAULT_ON_RATIO: Final = 0.9
DEFAULT_OFF_RATIO: Final = 0.8
DEFAULT_DWELL: Final = timedelta(minutes=2)
DEFAULT_STEP_INTERVAL: Final = timedelta(minutes=1)


class OptionsError(ValueError):
    """An option that cannot be saved: `key` is a form error key, `field` the form field."""

    def __init__(self, key: str, field: str = "base") -> None:
        super().__init__(f"{field}: {key}")
        self.key = key
        self.field = field


def _in_range(value: int, low: int, high: int, field: str) -> int:
    if not low <= value <= high:
        raise OptionsError("out_of_range", field)
    return value


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What to import from the Conso API, and how fast."""

    production: bool = False
    production_pdl: str | None = None  # None: the entry's own PDL
    daily_history_months: int = DEFAULT_DAILY_HISTORY_MONTHS
    hourly_history_months: int = DEFAULT_HOURLY_HISTORY_MONTHS
    request_cap: int = DEFAULT_REQUEST_CAP
    remove_statistics: bool = False  # delete the statistics with the entry
    retention_years: int = 0  # keep the statistics this many years (0: for ever)

    def __post_init__(self) -> None:
        _in_range(
            self.daily_history_months,
            MIN_DAILY_HISTORY_MONTHS,
            MAX_DAILY_HISTORY_MONTHS,
            CONF_DAILY_HISTORY_MONTHS,
        )
        _in_range(
            self.hourly_history_months,
            MIN_HOURLY_HISTORY_MONTHS,
            MAX_HOURLY_HISTORY_MONTHS,
            CONF_HOURLY_HISTORY_MONTHS,
        )
        _in_range(self.request_cap, MIN_REQUEST_CAP, MAX_REQUEST_CAP, CONF_REQUEST_CAP)
        _in_range(self.retention_years, 0, MAX_RETENTION_YEARS, CONF_RETENTION_YEARS)

    def as_options(self) -> dict[str, Any]:
        """The stored form."""
        return {
            CONF_PRODUCTION: self.production,
            CONF_PRODUCTION_PDL: self.production_pdl,
            CONF_DAILY_HISTORY_MONTHS: self.daily_history_months,
            CONF_HOURLY_HISTORY_MONTHS: self.hourly_history_months,
            CONF_REQUEST_CAP: self.request_cap,
            CONF_REMOVE_STATISTICS: self.remove_statistics,
            CONF_RETENTION_YEARS: self.retention_years,
        }

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> ImportOptions:
        """Read the stored form (missing keys take the defaults). Raises ValueError."""
        return cls(
            production=bool(options.get(CONF_PRODUCTION, False)),
            production_pdl=options.get(CONF_PRODUCTION_PDL) or None,
            daily_history_months=int(
                options.get(CONF_DAILY_HISTORY_MONTHS, DEFAULT_DAILY_HISTORY_MONTHS)
            ),
            hourly_history_months=int(
                options.get(CONF_HOURLY_HISTORY_MONTHS, DEFAULT_HOURLY_HISTORY_MONTHS)
            ),
            # A cap saved below today's minimum (0.1.0 allowed 10) is raised to the minimum:
            # still far below the ban, and the back-fill can send.
            request_cap=min(
                max(int(options.get(CONF_REQUEST_CAP, DEFAULT_REQUEST_CAP)), MIN_REQUEST_CAP),
                MAX_REQUEST_CAP,
            ),
            remove_statistics=bool(options.get(CONF_REMOVE_STATISTICS, False)),
            retention_years=int(options.get(CONF_RETENTION_YEARS, 0)),
        )


@dataclass(frozen=True, slots=True)
class TempoSourceOptions:
    """Where Tempo colours come from: an entity (and one for tomorrow), else the public
    calendar service at `url` (None: the default service)."""

    url: str | None = None
    entity: str | None = None
    tomorrow_entity: str | None = None

    @property
    def configured(self) -> bool:
        """Whether the user picked a source."""
        return bool(self.url or self.entity)


@dataclass(frozen=True, slots=True)
class SheddingOptions:
    """The load-shedding settings: peak signals, batteries, and the loads (subentries)."""

    power_entity: str | None = None
    threshold: PowerThreshold | None = None
    peak_buckets: frozenset[Bucket] = DEFAULT_PEAK_BUCKETS
    loads: tuple[Load, ...] = ()
    batteries: tuple[Battery, ...] = ()
    step_interval: timedelta = DEFAULT_STEP_INTERVAL

    @property
    def controller_config(self) -> ControllerConfig:
        """The controller's tuning: shed down to the off threshold, never restore into a
        new power peak."""
        threshold = self.threshold
        return ControllerConfig(
            step_interval=self.step_interval,
            target_w=None if threshold is None else threshold.off_w,
            limit_w=None if threshold is None else threshold.on_w,
        )

    def as_section(self) -> dict[str, Any]:
        """The stored section (durations in seconds; the loads are not in it)."""
        threshold = self.threshold
        section: dict[str, Any] = {
            CONF_POWER_ENTITY: self.power_entity,
            CONF_PEAK_BUCKETS: sorted(bucket.value for bucket in self.peak_buckets),
            CONF_BATTERIES: [battery.as_dict() for battery in self.batteries],
            CONF_STEP_INTERVAL: self.step_interval.total_seconds(),
        }
        if threshold is not None:
            section |= {
                CONF_SUBSCRIBED_KVA: threshold.subscribed_kva,
                CONF_ON_RATIO: threshold.on_ratio,
                CONF_OFF_RATIO: threshold.off_ratio,
                CONF_DWELL: threshold.dwell.total_seconds(),
            }
        return section

    @classmethod
    def parse(
        cls, section: Mapping[str, Any], loads: Iterable[Mapping[str, Any]]
    ) -> SheddingOptions:
        """Read the stored section and the loads' data. Raises ValueError (or KeyError,
        TypeError) when something cannot be read."""
        kva = section.get(CONF_SUBSCRIBED_KVA)
        threshold = (
            PowerThreshold(
                subscribed_kva=float(kva),
                on_ratio=float(section.get(CONF_ON_RATIO, DEFAULT_ON_RATIO)),
                off_ratio=float(section.get(CONF_OFF_RATIO, DEFAULT_OFF_RATIO)),
                dwell=timedelta(
                    seconds=float(section.get(CONF_DWELL, DEFAULT_DWELL.total_seconds()))
                ),
            )
            if kva
            else None
        )
        buckets = section.get(CONF_PEAK_BUCKETS)
        return cls(
            power_entity=section.get(CONF_POWER_ENTITY) or None,
            threshold=threshold,
            peak_buckets=DEFAULT_PEAK_BUCKETS
            if buckets is None
            else frozenset(Bucket(value) for value in buckets),
            loads=tuple(Load.from_dict(data) for data in loads),
            batteries=tuple(Battery.from_dict(raw) for raw in section.get(CONF_BATTERIES, [])),
            step_interval=timedelta(
                seconds=float(
                    section.get(CONF_STEP_INTERVAL, DEFAULT_STEP_INTERVAL.total_seconds())
                )
            ),
        )


WEEKLY_REPORT: Final = "weekly_report"
INSIGHT_KINDS: Final = (WEEKLY_REPORT, *(kind.value for kind in FindingKind))
"""What the insights tell (the event types of the insights event entity), each mutable."""


@dataclass(frozen=True, slots=True)
class InsightsOptions:
    """The insights settings (anomalies, limits, weekly report) and where to tell them."""

    holiday_entity: str | None = None  # an input_boolean or a calendar: days left out
    daily_limit_kwh: float | None = None
    weekly_limit_eur: float | None = None
    max_power_share: float = DEFAULT_MAX_POWER_SHARE  # of the subscribed power
    notify_entities: tuple[str, ...] = ()
    persistent_notification: bool = False
    muted: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.daily_limit_kwh is not None and not self.daily_limit_kwh > 0:
            raise OptionsError("out_of_range", CONF_DAILY_LIMIT_KWH)
        if self.weekly_limit_eur is not None and not self.weekly_limit_eur > 0:
            raise OptionsError("out_of_range", CONF_WEEKLY_LIMIT_EUR)
        if not 0.1 <= self.max_power_share <= 1.0:
            raise OptionsError("out_of_range", CONF_MAX_POWER_SHARE)
        if unknown := self.muted - set(INSIGHT_KINDS):
            raise ValueError(f"unknown insight kinds {sorted(unknown)}")

    def tells(self, kind: str) -> bool:
        """Whether `kind` (an `INSIGHT_KINDS` value) is told (not muted)."""
        return kind not in self.muted

    def as_section(self) -> dict[str, Any]:
        """The stored section."""
        return {
            CONF_HOLIDAY_ENTITY: self.holiday_entity,
            CONF_DAILY_LIMIT_KWH: self.daily_limit_kwh,
            CONF_WEEKLY_LIMIT_EUR: self.weekly_limit_eur,
            CONF_MAX_POWER_SHARE: self.max_power_share,
            CONF_NOTIFY_ENTITIES: list(self.notify_entities),
            CONF_PERSISTENT_NOTIFICATION: self.persistent_notification,
            CONF_MUTED: sorted(self.muted),
        }

    @classmethod
    def parse(cls, section: Mapping[str, Any]) -> InsightsOptions:
        """Read the stored section. Raises ValueError (or TypeError)."""

        def number(key: str) -> float | None:
            value = section.get(key)
            return None if value is None else float(value)

        return cls(
            holiday_entity=section.get(CONF_HOLIDAY_ENTITY) or None,
            daily_limit_kwh=number(CONF_DAILY_LIMIT_KWH),
            weekly_limit_eur=number(CONF_WEEKLY_LIMIT_EUR),
            max_power_share=float(section.get(CONF_MAX_POWER_SHARE, DEFAULT_MAX_POWER_SHARE)),
            notify_entities=tuple(str(e) for e in section.get(CONF_NOTIFY_ENTITIES) or ()),
            persistent_notification=bool(section.get(CONF_PERSISTENT_NOTIFICATION, False)),
            muted=frozenset(str(kind) for kind in section.get(CONF_MUTED) or ()),
        )


@dataclass(frozen=True, slots=True)
class LinkyOptions:
    """Everything a user chose for one meter."""

    meter: ImportOptions = field(default_factory=ImportOptions)
    tariff: Tariff | None = None
    contract_kva: int | None = None
    tempo: TempoSourceOptions = field(default_factory=TempoSourceOptions)
    shedding: SheddingOptions | None = None
    pv_entity: str | None = None
    temperature_entity: str | None = None  # outdoor temperature, daily means (weather)
    insights: InsightsOptions | None = None  # None: no insights
    problems: tuple[str, ...] = ()
    """Stored sections that could not be read (left out), with the reason."""

    @classmethod
    def parse(
        cls, options: Mapping[str, Any], loads: Iterable[Mapping[str, Any]] = ()
    ) -> LinkyOptions:
        """Read an entry's options and its loads' subentry data (see the module docstring)."""
        problems: list[str] = []
        try:
            meter = ImportOptions.parse(options)
        except (TypeError, ValueError) as err:
            problems.append(f"import options: {err}")
            meter = ImportOptions()
        tariff: Tariff | None = None
        if raw_tariff := options.get(CONF_TARIFF):
            try:
                tariff = Tariff.from_dict(raw_tariff)
            except TariffError as err:
                problems.append(f"tariff: {err}")
        shedding: SheddingOptions | None = None
        if isinstance(section := options.get(CONF_LOAD_SHEDDING), Mapping):
            try:
                shedding = SheddingOptions.parse(section, loads)
            except (KeyError, TypeError, ValueError) as err:
                problems.append(f"load shedding: {err}")
        insights: InsightsOptions | None = None
        if isinstance(section := options.get(CONF_INSIGHTS), Mapping):
            try:
                insights = InsightsOptions.parse(section)
            except (TypeError, ValueError) as err:
                problems.append(f"insights: {err}")
        try:
            kva = int(options[CONF_CONTRACT_KVA]) if options.get(CONF_CONTRACT_KVA) else None
        except (TypeError, ValueError) as err:
            problems.append(f"subscribed power: {err}")
            kva = None
        return cls(
            meter=meter,
            tariff=tariff,
            contract_kva=kva,
            tempo=TempoSourceOptions(
                url=options.get(CONF_TEMPO_URL) or None,
                entity=options.get(CONF_TEMPO_ENTITY) or None,
                tomorrow_entity=options.get(CONF_TEMPO_TOMORROW_ENTITY) or None,
            ),
            shedding=shedding,
            pv_entity=options.get(CONF_PV_ENTITY) or None,
            temperature_entity=options.get(CONF_TEMPERATURE_ENTITY) or None,
            insights=insights,
            problems=tuple(problems),
        )

    def as_options(self) -> dict[str, Any]:
        """The stored options (None values left out; the loads are subentries)."""
        options: dict[str, Any] = {
            **self.meter.as_options(),
            CONF_TARIFF: None if self.tariff is None else self.tariff.as_dict(),
            CONF_CONTRACT_KVA: self.contract_kva,
            CONF_TEMPO_URL: self.tempo.url,
            CONF_TEMPO_ENTITY: self.tempo.entity,
            CONF_TEMPO_TOMORROW_ENTITY: self.tempo.tomorrow_entity,
            CONF_LOAD_SHEDDING: None if self.shedding is None else self.shedding.as_section(),
            CONF_PV_ENTITY: self.pv_entity,
            CONF_TEMPERATURE_ENTITY: self.temperature_entity,
            CONF_INSIGHTS: None if self.insights is None else self.insights.as_section(),
        }
        return {key: value for key, value in options.items() if value is not None}

    def sync_options(self, pdl: str) -> SyncOptions:
        """What the sync engine imports for the meter `pdl`."""
        meter = self.meter
        return SyncOptions(
            pdl=pdl,
            production_pdl=(meter.production_pdl or pdl) if meter.production else None,
            daily_history_months=meter.daily_history_months,
            hourly_history_months=meter.hourly_history_months,
            retention_years=meter.retention_years,
        )

    @property
    def subscribed_kva(self) -> float | None:
        """The subscribed power: the load-shedding setting, else the contract's."""
        if self.shedding is not None and self.shedding.threshold is not None:
            return self.shedding.threshold.subscribed_kva
        return None if self.contract_kva is None else float(self.contract_kva)

    @property
    def uses_tempo(self) -> bool:
        """Whether Tempo colours are needed (a Tempo contract) or asked for (a source)."""
        return (self.tariff is not None and self.tariff.uses_tempo) or self.tempo.configured


def migrate(
    version: int, options: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An older version's stored options as (options, data of the load subentries to
    create) of `OPTIONS_VERSION`."""
    new = dict(options)
    loads: list[dict[str, Any]] = []
    if version < 2 and isinstance(section := new.get(CONF_LOAD_SHEDDING), Mapping):
        section = dict(section)
        loads = [
            dict(raw) for raw in section.pop(CONF_LOADS, None) or [] if isinstance(raw, Mapping)
        ]
        new[CONF_LOAD_SHEDDING] = section
    return new, loads
