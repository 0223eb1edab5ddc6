"""Sensors of a Linky meter: recent energy figures, max power, consent and sync diagnostics.

The energy sensors have no state class on purpose: the Energy dashboard must use the
external statistics `linky:<pdl>_consumption` / `linky:<pdl>_production` (hour by hour, at
the right time), not a sensor whose value changes once a day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfApparentPower, UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .conso import errors
from .conso.models import MaxPower
from .const import DOMAIN
from .coordinator import LinkyConfigEntry, LinkyCoordinator, LinkyData, SeriesFigures
from .energy.tempo import TempoColour
from .entity import LinkyEntity, LinkySheddingEntity
from .load_shedding import subscribed_kva
from .shedding.peaks import PeakHours, max_power_share
from .shedding.selfconsumption import DayFigures
from .tempo import TempoCoordinator

PARALLEL_UPDATES = 0

ERROR_UNKNOWN = "unknown_error"
# `ErrorInfo.kind` (the client error's class name) -> state of the "last error" sensor.
ERROR_STATES: dict[str, str] = {
    errors.ConsoApiConnectionError.__name__: "connection",
    errors.ConsoApiAuthError.__name__: "auth",
    errors.ConsoApiNoConsentError.__name__: "no_consent",
    errors.ConsoApiNotHolderError.__name__: "not_holder",
    errors.ConsoApiNoDataError.__name__: "no_data",
    errors.ConsoApiHistoryLimitError.__name__: "history_limit",
    errors.ConsoApiRateLimitedError.__name__: "rate_limited",
    errors.ConsoApiBannedError.__name__: "banned",
    errors.ConsoApiServerError.__name__: "server",
    errors.ConsoApiRequestError.__name__: "request",
    errors.ConsoApiMalformedResponseError.__name__: "malformed_response",
    errors.BudgetExhaustedError.__name__: "budget_exhausted",
}


@dataclass(frozen=True, kw_only=True)
class LinkySensorEntityDescription(SensorEntityDescription):
    """A Linky sensor: how to read its value (and attributes) from the coordinator's data."""

    value_fn: Callable[[LinkyData], StateType | date | datetime]
    exists_fn: Callable[[LinkyData], bool] = lambda _: True
    available_fn: Callable[[LinkyData], bool] | None = None
    attr_fn: Callable[[LinkyData], Mapping[str, Any]] | None = None


def _fresh(data: LinkyData) -> bool:
    """Measurement sensors are unavailable once the data is stale."""
    return not data.stale


def _yesterday_max_power(data: LinkyData) -> MaxPower | None:
    """The max power of the day before `data.today`, if it is known."""
    max_power = data.max_power
    if max_power is None or max_power.day != data.today - timedelta(days=1):
        return None
    return max_power


def _energy_descriptions(
    series: str, figures: Callable[[LinkyData], SeriesFigures | None]
) -> tuple[LinkySensorEntityDescription, ...]:
    """The yesterday / last 7 days / month to date sensors of one series."""

    def description(
        period: str, pick: Callable[[SeriesFigures], float | None]
    ) -> LinkySensorEntityDescription:
        def value(data: LinkyData) -> float | None:
            series_figures = figures(data)
            return pick(series_figures) if series_figures is not None else None

        return LinkySensorEntityDescription(
            key=f"{series}_{period}",
            translation_key=f"{series}_{period}",
            device_class=SensorDeviceClass.ENERGY,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=2,
            value_fn=value,
            exists_fn=lambda data: figures(data) is not None,
            available_fn=_fresh,
        )

    return (
        description("yesterday", lambda f: f.yesterday),
        description("last_7_days", lambda f: f.last_7_days),
        description("month_to_date", lambda f: f.month_to_date),
    )


SENSORS: tuple[LinkySensorEntityDescription, ...] = (
    *_energy_descriptions("consumption", lambda data: data.consumption),
    *_energy_descriptions("production", lambda data: data.production),
    LinkySensorEntityDescription(
        key="max_power_yesterday",
        translation_key="max_power_yesterday",
        device_class=SensorDeviceClass.APPARENT_POWER,
        native_unit_of_measurement=UnitOfApparentPower.VOLT_AMPERE,
        value_fn=lambda data: mp.va if (mp := _yesterday_max_power(data)) else None,
        available_fn=_fresh,
    ),
    LinkySensorEntityDescription(
        key="max_power_time",
        translation_key="max_power_time",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: mp.at if (mp := _yesterday_max_power(data)) else None,
        available_fn=_fresh,
    ),
    LinkySensorEntityDescription(
        key="latest_data",
        translation_key="latest_data",
        device_class=SensorDeviceClass.DATE,
        value_fn=lambda data: data.latest_day,
    ),
    LinkySensorEntityDescription(
        key="consent_expiry",
        translation_key="consent_expiry",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: data.consent_expires,
    ),
    LinkySensorEntityDescription(
        key="request_budget",
        translation_key="request_budget",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.budget_remaining,
        attr_fn=lambda data: {"used": data.budget_used, "cap": data.budget_cap},
    ),
    LinkySensorEntityDescription(
        key="next_run",
        translation_key="next_run",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.next_run,
    ),
    LinkySensorEntityDescription(
        key="last_error",
        translation_key="last_error",
        device_class=SensorDeviceClass.ENUM,
        options=[*dict.fromkeys(ERROR_STATES.values()), ERROR_UNKNOWN],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: (
            ERROR_STATES.get(data.last_error.kind, ERROR_UNKNOWN) if data.last_error else None
        ),
        attr_fn=lambda data: (
            {
                "code": error.code,
                "status": error.status,
                "message": error.message,
                "at": error.at.isoformat(),
            }
            if (error := data.last_error)
            else {}
        ),
    ),
    LinkySensorEntityDescription(
        key="backfill_progress",
        translation_key="backfill_progress",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.backfill_progress,
    ),
    LinkySensorEntityDescription(
        key="last_success",
        translation_key="last_success",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.last_success,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LinkyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of a meter (production ones only when production is imported)."""
    coordinator = entry.runtime_data
    async_add_entities(
        LinkySensor(coordinator, description)
        for description in SENSORS
        if description.exists_fn(coordinator.data)
    )
    if (tempo := coordinator.costs.tempo) is not None:
        async_add_entities(
            TempoColourSensor(tempo, coordinator.pdl, description) for description in TEMPO_SENSORS
        )
    if (shedding := coordinator.shedding) is not None:
        async_add_entities([ShedLevelSensor(shedding, SHED_LEVEL)])
    if (kva := subscribed_kva(entry.options)) is not None:
        async_add_entities([MaxPowerShareSensor(coordinator, MAX_POWER_SHARE, kva)])
    if coordinator.self_consumption is not None:
        async_add_entities(
            SelfConsumptionSensor(coordinator, description)
            for description in SELF_CONSUMPTION_SENSORS
        )
    if coordinator.insight is not None:
        async_add_entities([TypicalPeakHoursSensor(coordinator, TYPICAL_PEAK_HOURS)])


class LinkySensor(LinkyEntity, SensorEntity):
    """A sensor reading one value of the coordinator's data."""

    entity_description: LinkySensorEntityDescription

    @property
    def available(self) -> bool:
        """Unavailable when the coordinator failed, or (data sensors) when data is stale."""
        available_fn = self.entity_description.available_fn
        return super().available and (available_fn is None or available_fn(self.coordinator.data))

    @property
    def native_value(self) -> StateType | date | datetime:
        """The value read from the coordinator's data."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Attributes of the diagnostic sensors that have some."""
        attr_fn = self.entity_description.attr_fn
        return None if attr_fn is None else attr_fn(self.coordinator.data)


# --- Tempo colours (only when the contract is Tempo or a Tempo source is configured) ---------

TEMPO_SENSORS: tuple[SensorEntityDescription, ...] = tuple(
    SensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENUM,
        options=[colour.value for colour in TempoColour],
    )
    for key in ("tempo_today", "tempo_tomorrow")
)


class TempoColourSensor(CoordinatorEntity[TempoCoordinator], SensorEntity):
    """Today's or tomorrow's Tempo colour, on the meter's device."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: TempoCoordinator, pdl: str, description: SensorEntityDescription
    ) -> None:
        """Bind the sensor to the Tempo coordinator and the meter's device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{pdl}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, pdl)})

    @property
    def native_value(self) -> str | None:
        """The colour, or None while it is not known."""
        colours = self.coordinator.data
        colour = colours.today if self.entity_description.key == "tempo_today" else colours.tomorrow
        return colour.value if colour is not None else None


# --- load shedding (only when configured) ---------------------------------------------------

SHED_LEVEL = SensorEntityDescription(
    key="shed_level", translation_key="shed_level", state_class=SensorStateClass.MEASUREMENT
)


class ShedLevelSensor(LinkySheddingEntity, SensorEntity):
    """How many loads are shed now; the shed entities in priority order as an attribute."""

    @property
    def native_value(self) -> int:
        """The shed level."""
        return self.shedding.controller.level

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """The shed entity ids, in priority order."""
        return {"entities": self.shedding.controller.shed_entities}


MAX_POWER_SHARE = SensorEntityDescription(
    key="max_power_share_yesterday",
    translation_key="max_power_share_yesterday",
    native_unit_of_measurement=PERCENTAGE,
    suggested_display_precision=0,
)


class MaxPowerShareSensor(LinkyEntity, SensorEntity):
    """Yesterday's max power as a share of the subscribed power (100 %: reached)."""

    def __init__(
        self, coordinator: LinkyCoordinator, description: SensorEntityDescription, kva: float
    ) -> None:
        """Bind the sensor to the meter and its subscribed power."""
        super().__init__(coordinator, description)
        self._kva = kva

    @property
    def available(self) -> bool:
        """Unavailable once the data is stale."""
        return super().available and _fresh(self.coordinator.data)

    @property
    def native_value(self) -> float | None:
        """The share in %, or None while yesterday's max power is not known."""
        record = _yesterday_max_power(self.coordinator.data)
        return None if record is None else round(max_power_share(record, self._kva).share * 100, 1)


# --- PV self-consumption (only when a PV production sensor is configured) ------------------


@dataclass(frozen=True, kw_only=True)
class SelfConsumptionSensorDescription(SensorEntityDescription):
    """A figure of yesterday's self-consumption."""

    value_fn: Callable[[DayFigures], float | None]


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


SELF_CONSUMPTION_SENSORS: tuple[SelfConsumptionSensorDescription, ...] = (
    SelfConsumptionSensorDescription(
        key="self_consumed_yesterday",
        translation_key="self_consumed_yesterday",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda day: round(day.self_consumed_wh / 1000, 3),
    ),
    SelfConsumptionSensorDescription(
        key="self_consumption_rate_yesterday",
        translation_key="self_consumption_rate_yesterday",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda day: _percent(day.self_consumption_rate),
    ),
    SelfConsumptionSensorDescription(
        key="self_sufficiency_rate_yesterday",
        translation_key="self_sufficiency_rate_yesterday",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda day: _percent(day.self_sufficiency_rate),
    ),
)


class SelfConsumptionSensor(LinkyEntity, SensorEntity):
    """Yesterday's self-consumed energy or rate (None until the day is complete)."""

    entity_description: SelfConsumptionSensorDescription

    @property
    def native_value(self) -> float | None:
        """The figure of yesterday, if known."""
        updater = self.coordinator.self_consumption
        day = None if updater is None else updater.yesterday
        return None if day is None else self.entity_description.value_fn(day)


# --- insight from history (only when hourly data are imported) ----------------------------

TYPICAL_PEAK_HOURS = SensorEntityDescription(
    key="typical_peak_hours", translation_key="typical_peak_hours"
)


class TypicalPeakHoursSensor(LinkyEntity, SensorEntity):
    """The usually heaviest local hours of the last 30 days, e.g. "18:00, 19:00, 20:00"."""

    @property
    def native_value(self) -> str | None:
        """The peak hours in the order of the day, None until computed."""
        peaks = self._peaks()
        return None if peaks is None else ", ".join(f"{h:02d}:00" for h in sorted(peaks.hours))

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The peak hours (local, 0-23), the average Wh of each (same order) and the number
        of days used."""
        peaks = self._peaks()
        if peaks is None:
            return None
        hours = sorted(peaks.hours)
        return {
            "hours": hours,
            "average_wh": [round(peaks.average_wh[hour], 1) for hour in hours],
            "days": peaks.days,
        }

    def _peaks(self) -> PeakHours | None:
        insight = self.coordinator.insight
        return None if insight is None else insight.typical
