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

from .analytics.peaks import max_power_share
from .conso.errors import ErrorKind
from .conso.models import MaxPower
from .const import DOMAIN
from .coordinator import LinkyCoordinator
from .energy.tempo_calendar import TempoColour
from .entity import LinkyEntity, LinkyPartEntity, LinkySheddingEntity
from .runtime import LinkyConfigEntry
from .runtime.derived import DerivedPart, PartSensorDescription
from .runtime.tempo_source import TempoCoordinator
from .sync.snapshot import LinkyData, SeriesFigures

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class LinkySensorEntityDescription(SensorEntityDescription):
    """A Linky sensor: how to read its value (and attributes) from the coordinator's data."""

    value_fn: Callable[[LinkyData], StateType | date | datetime]
    exists_fn: Callable[[LinkyData], bool] = lambda _: True
    available_fn: Callable[[LinkyData], bool] | None = None
    attr_fn: Callable[[LinkyData], Mapping[str, Any] | None] | None = None


def _fresh(data: LinkyData) -> bool:
    """Measurement sensors are unavailable once the data is stale."""
    return not data.stale


def _recent_max_power(data: LinkyData) -> MaxPower | None:
    """The latest max power known, if it is recent: yesterday's while every run asks for
    it, at most one cycle old when the budget asks for it every few days (its `day`
    attribute tells which)."""
    max_power = data.max_power
    if max_power is None or max_power.day < data.today - timedelta(days=data.fleet.max_power_every):
        return None
    return max_power


def _max_power_day(data: LinkyData) -> dict[str, Any] | None:
    return {"day": mp.day.isoformat()} if (mp := _recent_max_power(data)) else None


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
            attr_fn=lambda data: (
                {"latest_day": day.isoformat()}
                if (series_figures := figures(data)) and (day := series_figures.latest_day)
                else None
            ),
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
        value_fn=lambda data: mp.va if (mp := _recent_max_power(data)) else None,
        attr_fn=_max_power_day,
        available_fn=_fresh,
    ),
    LinkySensorEntityDescription(
        key="max_power_time",
        translation_key="max_power_time",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: mp.at if (mp := _recent_max_power(data)) else None,
        attr_fn=_max_power_day,
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
        attr_fn=lambda data: {
            "used": data.budget_used,
            "cap": data.budget_cap,
            **data.fleet.as_dict(),
        },
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
        options=[kind.value for kind in ErrorKind],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.last_error.kind.value if data.last_error else None,
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
    """Add the sensors of a meter and of the parts its options ask for."""
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    async_add_entities(
        LinkySensor(coordinator, description)
        for description in SENSORS
        if description.exists_fn(coordinator.data)
    )
    if (tempo := runtime.tempo) is not None:
        async_add_entities(
            TempoColourSensor(tempo, coordinator.pdl, description) for description in TEMPO_SENSORS
        )
    if (shedding := runtime.shedding) is not None:
        async_add_entities([ShedLevelSensor(shedding, SHED_LEVEL)])
    if (kva := runtime.options.subscribed_kva) is not None:
        async_add_entities([MaxPowerShareSensor(coordinator, MAX_POWER_SHARE, kva)])
    async_add_entities(
        PartSensor(part, description)
        for part in runtime.derived
        for description in part.sensor_descriptions
    )


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
        """Attributes of the sensors that have some."""
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
    """The recent max power (see `_recent_max_power`) as a share of the subscribed power
    (100 %: reached)."""

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
        """The share in %, or None while no recent max power is known."""
        record = _recent_max_power(self.coordinator.data)
        return None if record is None else round(max_power_share(record, self._kva).share * 100, 1)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The day of that max power."""
        return _max_power_day(self.coordinator.data)


# --- derived parts (their descriptions are in the part's module) ----------------------------


class PartSensor(LinkyPartEntity[DerivedPart], SensorEntity):
    """A figure of a derived part (self-consumption, typical peak hours...)."""

    entity_description: PartSensorDescription[DerivedPart]

    @property
    def native_value(self) -> StateType:
        """The part's figure (None until computed)."""
        return self.entity_description.value_fn(self.part)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The part's attributes of that figure, if any."""
        return self.entity_description.attr_fn(self.part)
