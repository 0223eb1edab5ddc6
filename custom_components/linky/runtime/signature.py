"""The energy signature of a meter: its daily kWh against the outdoor temperature.

After each import (and at start), the consumption days of the last `HISTORY_DAYS` are read
from the statistics, with the day temperatures (the sensor chosen in the options, else the
daily means imported from a file) and fitted by `analytics/signature.py` (PRISM / CalTRACK
daily method). Days of load shedding by this integration, holidays the user flagged (the
insights' holiday source) and days not stored are left out. Without any temperature the
sensors say so (model quality "no temperature") rather than guess. The signature is
computed again from what is stored; nothing of it is saved.

The statistic `linky:<pdl>_expected_consumption` holds, for each stored day with a
temperature, the kWh the signature expected at that temperature, hour by hour: the day's
expected kWh spread over its hours as the meter's last `PROFILE_DAYS` days known hour by hour
spread theirs (`energy/day_profile.py`; evenly without any), so an hourly, daily, weekly or
monthly graph shows it against the actual consumption and each day sums to the signature's
figure. A day is written once, with the signature and profile of the time it was imported
(so the past does not move every day); importing temperatures writes every day again with
the current ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from homeassistant.components.recorder.models import StatisticMetaData
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import PERCENTAGE, UnitOfEnergy, UnitOfTemperature
from homeassistant.helpers.typing import StateType

from ..analytics.signature import (
    Grade,
    NoModelReason,
    NoSignature,
    Point,
    Signature,
    fit_signature,
    points,
)
from ..const import SERIES_CONSUMPTION
from ..energy.day_profile import DayProfile
from ..energy.hourly import local_day_bounds
from ..energy.ledger import DayData, Resolution
from ..options import LinkyOptions
from ..statistics import series_metadata
from .derived import DerivedSeries, PartSensorDescription, Written
from .insight_sources import async_day_temperatures, async_read_holidays

SERIES_EXPECTED: Final = "expected_consumption"
HISTORY_DAYS: Final = 400
"""Days read: the 365 of the signature and a few before them (late or missing days)."""
PROFILE_DAYS: Final = 28
"""The meter's latest days known hour by hour whose shape spreads an expected day."""
QUALITY_OPTIONS: Final = (*(grade.value for grade in Grade), *(r.value for r in NoModelReason))
"""The model quality sensor's states: the grade of a signature, or why there is none."""


def _figure(name: str, digits: int) -> Any:
    def value(part: SignaturePart) -> StateType:
        if not isinstance(part.signature, Signature):
            return None
        figure = getattr(part.signature, name)
        return None if figure is None else round(float(figure), digits)

    return value


def _quality(part: SignaturePart) -> StateType:
    signature = part.signature
    if signature is None:
        return None
    if isinstance(signature, NoSignature):
        return signature.reason.value
    return signature.grade.value


def _share(part: SignaturePart) -> StateType:
    signature = part.signature
    if not isinstance(signature, Signature):
        return None
    return round(100 * signature.heating_share, 1)


def _attributes(part: SignaturePart) -> dict[str, Any] | None:
    return None if part.signature is None else part.signature.as_dict()


SENSORS: Final = (
    PartSensorDescription["SignaturePart"](
        key="signature_quality",
        translation_key="signature_quality",
        device_class=SensorDeviceClass.ENUM,
        options=list(QUALITY_OPTIONS),
        value_fn=_quality,
        attr_fn=_attributes,
    ),
    PartSensorDescription["SignaturePart"](
        key="heating_share",
        translation_key="heating_share",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_share,
    ),
    PartSensorDescription["SignaturePart"](
        key="balance_temperature",
        translation_key="balance_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=_figure("heating_balance", 1),
    ),
    PartSensorDescription["SignaturePart"](
        key="heating_slope",
        translation_key="heating_slope",
        native_unit_of_measurement="kWh/°C·d",
        suggested_display_precision=2,
        value_fn=_figure("heating_slope", 3),
    ),
    PartSensorDescription["SignaturePart"](
        key="base_consumption",
        translation_key="base_consumption",
        native_unit_of_measurement="kWh/d",
        suggested_display_precision=1,
        value_fn=_figure("base_kwh", 2),
    ),
    PartSensorDescription["SignaturePart"](
        key="normal_year_consumption",
        translation_key="normal_year_consumption",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=0,
        value_fn=_figure("normal_year_kwh", 0),
    ),
)


class SignaturePart(DerivedSeries):
    """The energy signature of one meter (see the module docstring)."""

    key = "signature"
    statistics = (SERIES_EXPECTED,)
    sensor_descriptions = SENSORS

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.signature: Signature | NoSignature | None = None
        self._points: list[Point] = []

    def metadata(self, name: str) -> StatisticMetaData:
        """`linky:<pdl>_expected_consumption`, in kWh."""
        return series_metadata(self.pdl, name, "expected consumption")

    def _restore(self, saved: Mapping[str, Any]) -> None:
        self.ledgers = self._ledgers_from(saved.get("ledgers"))

    def _state_to_save(self) -> dict[str, Any]:
        return {"ledgers": self._ledgers_to_save()}

    @classmethod
    def wanted(cls, options: LinkyOptions) -> bool:
        """Always: without a temperature, its sensors say so."""
        return True

    def response(self) -> dict[str, Any]:
        """The signature and its points (the action `get_energy_signature`)."""
        return {
            "signature": None if self.signature is None else self.signature.as_dict(),
            "points": [point.as_dict() for point in self._points],
        }

    def diagnostics(self) -> dict[str, Any]:
        """The model's kind and quality (no figure that would identify the household)."""
        signature = self.signature
        if isinstance(signature, Signature):
            return {"kind": signature.kind.value, "grade": signature.grade.value}
        return {"reason": None if signature is None else signature.reason.value}

    async def async_temperatures_changed(self) -> None:
        """Temperatures were imported: fit again, and write every expected day again."""
        await self.async_recompute()

    async def _async_catch_up(self) -> None:
        await self._async_update()

    async def _async_after_run(self, written: Written) -> None:
        if written.get(SERIES_CONSUMPTION):
            await self._async_update()

    async def _async_recompute(self) -> None:
        self._clear_statistics()
        await self._async_update()

    async def _async_update(self) -> None:
        """Fit the signature again; write the expected kWh of the days not written yet."""
        stored, temperatures, excluded = await self._async_fit()
        if not isinstance(self.signature, Signature):
            return
        ledger = self.ledgers.get(SERIES_EXPECTED)
        signature = self.signature
        todo = [
            data.day
            for data in stored
            if data.day in temperatures and (ledger is None or data.day not in ledger)
        ]
        if not todo:
            return
        profile = DayProfile.of(
            [
                data.hours
                for data in stored
                if data.resolution is Resolution.HOURLY and data.day not in excluded
            ][-PROFILE_DAYS:]
        )
        new = [
            DayData.hourly(
                day, profile.spread(day, 1000 * max(0.0, signature.expected_kwh(temperatures[day])))
            )
            for day in todo
        ]
        await self._async_write(SERIES_EXPECTED, new)

    async def _async_fit(self) -> tuple[list[DayData], dict[date, float], frozenset[date]]:
        """Fit the signature on what is stored; the days read (oldest first), their
        temperatures and the days left out (nothing without a temperature source: nothing
        to fit, nothing read)."""
        today = self.today
        inputs = await self.async_daily_inputs(today - timedelta(days=HISTORY_DAYS), today)
        if inputs is None:
            self.signature, self._points = NoSignature(NoModelReason.NO_TEMPERATURE), []
            return [], {}, frozenset()
        self.signature, self._points = await self.hass.async_add_executor_job(
            _fit, inputs.kwh, inputs.temperatures, inputs.excluded
        )
        return inputs.stored, inputs.temperatures, inputs.excluded

    async def async_daily_inputs(self, first: date, end: date) -> DailyInputs | None:
        """The meter's stored consumption days from `first` to the day before `end`, their
        temperatures and the days to leave out (load shedding, flagged holidays); None
        without any temperature source (and then nothing is read)."""
        start, stop = local_day_bounds(first)[0], local_day_bounds(end)[0]
        options = self.context.options
        temperatures = await async_day_temperatures(
            self.hass, self.entry.entry_id, options.temperature_entity, start, stop
        )
        if temperatures is None:
            return None
        wanted = {first + timedelta(days=n) for n in range((end - first).days)}
        stored = sorted(
            await self._async_read_days(SERIES_CONSUMPTION, wanted), key=lambda data: data.day
        )
        excluded = frozenset(self.context.shed_days())
        holidays = None if options.insights is None else options.insights.holiday_entity
        if holidays is not None:
            excluded |= await async_read_holidays(self.hass, holidays, start, stop)
        return DailyInputs(stored, temperatures, excluded)


@dataclass(frozen=True, slots=True)
class DailyInputs:
    """What a daily fit of the meter reads: its stored days (oldest first), the days'
    temperatures, the days to leave out."""

    stored: list[DayData]
    temperatures: dict[date, float]
    excluded: frozenset[date]

    @property
    def kwh(self) -> dict[date, float]:
        return {data.day: data.total_wh / 1000 for data in self.stored}


def _fit(
    kwh: dict[date, float], temperatures: dict[date, float], excluded: frozenset[date]
) -> tuple[Signature | NoSignature, list[Point]]:
    """The signature and its points (in the executor: a grid of least squares)."""
    signature = fit_signature(kwh, temperatures, excluded)
    fitted = signature if isinstance(signature, Signature) else None
    return signature, points(kwh, temperatures, excluded, fitted)
