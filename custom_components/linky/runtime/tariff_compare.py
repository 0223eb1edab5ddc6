"""Which tariff, and what shifting a load would save, for one meter (the actions
`linky.compare_tariffs` and `linky.simulate_load_shift`, and, with a tariff set, the sensors
of `TariffComparisonPart`: the cheapest option over the last 12 months and what it would
have saved, computed again after an import that wrote a day of those months).

Reads what is stored (no Conso API request): the consumption of the last N months (hourly
days hour by hour, daily-only days as daily totals), the contract option, subscribed kVA,
off-peak windows and subscription price from the options, and the Tempo colours (the
entry's Tempo source, else the public calendar; cached, a few requests per season at most).
The maths are `analytics/tariff_compare.py` and `analytics/load_shift.py`, run in the
executor. Every option is priced at the regulated prices of each day: hours before the
first grid of the table (1 February 2024) are not priced and are reported as missing.

- Current option: the contract option of the user's tariff in force today (the last period
  when none is); without a tariff, Base is the reference (`current_configured: false`).
- Subscribed kVA: the contract's (the load-shedding setting's, else the options'); 6 kVA
  when none is set (`kva_configured: false`).
- Off-peak windows: those of each HP/HC period of the user's tariff, dated by its start;
  22:00-06:00 when the tariff has no HP/HC period.
- Subscription: where a period of the tariff has a monthly subscription, it is the figure of
  that period's option where the regulated table has none for the kVA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from ..analytics.load_shift import LoadShift, shift_daily_block, shift_recorded_load
from ..analytics.tariff_compare import TariffComparison, TariffSetup, compare_tariffs
from ..const import DOMAIN, LOGGER, SERIES_CONSUMPTION
from ..energy.hourly import local_day_bounds
from ..energy.ledger import Resolution
from ..energy.regulated import DEFAULT_TARIFFS
from ..energy.tariffs import (
    DEFAULT_OFFPEAK,
    ContractOption,
    OffPeakWindow,
    Tariff,
    TariffError,
)
from ..localtime import local_date
from ..options import LinkyOptions
from ..statistics import (
    WATT,
    read_hourly_means,
    read_hourly_wh,
    read_stored_days,
    statistic_id,
)
from .derived import PartContext, PartSensorDescription, WindowedPart
from .tempo_source import async_get_source

if TYPE_CHECKING:
    from . import LinkyConfigEntry
    from .tempo_source import TempoCoordinator

DEFAULT_MONTHS: Final = 12
MAX_MONTHS: Final = 24
DEFAULT_KVA: Final = 6
PRICES_KNOWN_FROM: Final = min(grid.start for grid in DEFAULT_TARIFFS)


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What both actions price: the stored days and the setup."""

    hourly: dict[datetime, float]
    daily: dict[date, float]
    setup: TariffSetup
    current: ContractOption
    current_configured: bool
    kva_configured: bool
    first: date
    last: date

    def about(self, months: int) -> dict[str, Any]:
        """What the response says about the inputs."""
        return {
            "months": months,
            "period_first": self.first.isoformat(),
            "period_last": self.last.isoformat(),
            "current_configured": self.current_configured,
            "kva": self.setup.kva,
            "kva_configured": self.kva_configured,
            "prices_known_from": PRICES_KNOWN_FROM.isoformat(),
        }


async def async_compare_tariffs(
    hass: HomeAssistant, entry: LinkyConfigEntry, months: int
) -> dict[str, Any]:
    """The comparison of Base, HP/HC and Tempo over the last `months` months."""
    inputs = await _async_entry_inputs(hass, entry, months)
    result: TariffComparison = await _async_run(
        hass,
        lambda: compare_tariffs(inputs.hourly, inputs.setup, inputs.current, inputs.daily),
    )
    return result.as_dict() | inputs.about(months)


async def async_simulate_load_shift(
    hass: HomeAssistant,
    entry: LinkyConfigEntry,
    months: int,
    window: str,
    *,
    kwh_per_day: float | None,
    entity_id: str | None,
) -> dict[str, Any]:
    """What the last `months` months would have cost with a block (kWh a day) or a recorded
    load (an energy sensor's hourly statistics, or a power sensor's hourly means) moved
    into `window`."""
    if (kwh_per_day is None) == (entity_id is None):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="shift_block_or_entity"
        )
    try:
        target = OffPeakWindow.from_text(window)
    except TariffError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="shift_bad_window",
            translation_placeholders={"window": window},
        ) from err
    inputs = await _async_entry_inputs(hass, entry, months)
    if entity_id is not None:
        start = local_day_bounds(inputs.first)[0]
        end = local_day_bounds(inputs.last)[1]
        instance = get_instance(hass)
        load = await instance.async_add_executor_job(
            read_hourly_wh, hass, entity_id, start, end, "change"
        )
        if not load:  # a power sensor: its hourly mean in W is the hour's Wh
            watts = await instance.async_add_executor_job(
                read_hourly_means, hass, entity_id, start, end, WATT
            )
            load = {hour: max(w, 0.0) for hour, w in watts.items()}
        if not load:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="shift_no_energy_statistics",
                translation_placeholders={"entity_id": entity_id},
            )
        result: LoadShift = await _async_run(
            hass,
            lambda: shift_recorded_load(
                inputs.hourly, inputs.setup, inputs.current, load=load, target=target
            ),
        )
    else:
        block = float(kwh_per_day or 0.0)
        result = await _async_run(
            hass,
            lambda: shift_daily_block(
                inputs.hourly, inputs.setup, inputs.current, kwh_per_day=block, target=target
            ),
        )
    return result.as_dict() | inputs.about(months) | {"entity_id": entity_id}


async def _async_run[T](hass: HomeAssistant, job: Callable[[], T]) -> T:
    """`job` in the executor; an option without prices for the kVA is the user's to fix."""
    try:
        return await hass.async_add_executor_job(job)
    except TariffError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="compare_no_prices",
            translation_placeholders={"detail": str(err)},
        ) from err


async def _async_entry_inputs(hass: HomeAssistant, entry: LinkyConfigEntry, months: int) -> _Inputs:
    runtime = entry.runtime_data
    return await _async_inputs(
        hass, runtime.coordinator.pdl, runtime.options, runtime.tempo, months
    )


async def _async_inputs(
    hass: HomeAssistant,
    pdl: str,
    options: LinkyOptions,
    tempo: TempoCoordinator | None,
    months: int,
) -> _Inputs:
    today = local_date(dt_util.utcnow())
    first, last = months_before(today, months), today - timedelta(days=1)
    days = {first + timedelta(days=n) for n in range((last - first).days + 1)}
    instance = get_instance(hass)
    await instance.async_block_till_done()
    stored = await instance.async_add_executor_job(
        read_stored_days, hass, statistic_id(pdl, SERIES_CONSUMPTION), days
    )
    hourly: dict[datetime, float] = {}
    daily: dict[date, float] = {}
    for data in stored:
        if data.resolution is Resolution.DAILY:
            daily[data.day] = sum(data.hours.values())
        else:
            hourly.update(data.hours)

    source = tempo.source if tempo is not None else await async_get_source(hass, options.tempo)
    tempo_days = [first - timedelta(days=1) + timedelta(days=n) for n in range(len(days) + 1)]
    await source.async_fill(tempo_days)
    colours = {day: colour for day in tempo_days if (colour := source.cache.colour(day))}

    tariff = options.tariff
    kva = options.subscribed_kva
    setup = TariffSetup(
        kva=DEFAULT_KVA if kva is None else round(kva),
        offpeak=_offpeak(tariff),
        colours=colours,
        subscriptions=_subscriptions(tariff),
    )
    current = ContractOption.BASE
    if tariff is not None:
        period = tariff.period_at(today) or tariff.periods[-1]
        current = period.option
    return _Inputs(
        hourly=hourly,
        daily=daily,
        setup=setup,
        current=current,
        current_configured=tariff is not None,
        kva_configured=kva is not None,
        first=first,
        last=last,
    )


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day if shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))


def _offpeak(tariff: Tariff | None) -> dict[date, tuple[OffPeakWindow, ...]]:
    """The HP/HC windows of the tariff's HP/HC periods, dated; the default without any."""
    dated = {
        period.start: period.offpeak
        for period in (tariff.periods if tariff is not None else ())
        if period.option is ContractOption.HPHC
    }
    return dated or {date.min: DEFAULT_OFFPEAK}


def _subscriptions(tariff: Tariff | None) -> dict[ContractOption, Decimal]:
    """The latest monthly subscription the tariff gives for each of its options."""
    found: dict[ContractOption, Decimal] = {}
    for period in tariff.periods if tariff is not None else ():
        if period.subscription_monthly is not None:
            found[period.option] = period.subscription_monthly
    return found


def _cheapest(part: TariffComparisonPart) -> str | None:
    return None if part.result is None else part.result.cheapest.value


def _saving(part: TariffComparisonPart) -> float | None:
    """The current contract's total less the cheapest option's (0: it is the cheapest)."""
    result = part.result
    if result is None:
        return None
    costs = result.options
    return round(costs[result.current].total_eur - costs[result.cheapest].total_eur, 2)


def _comparison_attributes(part: TariffComparisonPart) -> dict[str, Any] | None:
    result = part.result
    if result is None:
        return None
    data = result.as_dict()
    keep = ("current_option", "options", "incomplete", "first_day", "last_day", "kwh")
    return {key: data[key] for key in keep if key in data}


class TariffComparisonPart(WindowedPart):
    """The cheapest tariff option over the last 12 months of one meter (see the module
    docstring)."""

    key = "tariff_comparison"
    stored = False
    sensor_descriptions = (
        PartSensorDescription["TariffComparisonPart"](
            key="cheapest_tariff",
            translation_key="cheapest_tariff",
            device_class=SensorDeviceClass.ENUM,
            options=[option.value for option in ContractOption],
            value_fn=_cheapest,
            attr_fn=_comparison_attributes,
        ),
        PartSensorDescription["TariffComparisonPart"](
            key="tariff_saving",
            translation_key="tariff_saving",
            device_class=SensorDeviceClass.MONETARY,
            native_unit_of_measurement="EUR",
            suggested_display_precision=0,
            value_fn=_saving,
        ),
    )

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        self.result: TariffComparison | None = None

    @classmethod
    def wanted(cls, options: LinkyOptions) -> bool:
        """With a tariff: the comparison is against the user's contract."""
        return options.tariff is not None

    def _window_start(self, today: date) -> date:
        return months_before(today, DEFAULT_MONTHS)

    async def _async_compute(self, today: date) -> None:
        """Over the 12 months before today."""
        context = self.context
        inputs = await _async_inputs(
            self.hass, self.pdl, context.options, context.tempo, DEFAULT_MONTHS
        )
        try:
            self.result = await self.hass.async_add_executor_job(
                compare_tariffs, inputs.hourly, inputs.setup, inputs.current, inputs.daily
            )
        except TariffError as err:  # no regulated prices for this power: no comparison
            LOGGER.debug("No tariff comparison for %s: %s", self.pdl, err)
            self.result = None
