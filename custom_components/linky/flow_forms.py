"""The forms of the options and subentry flows: schemas, and readers that turn a submitted
form into option values (raising `OptionsError` or `TariffError` with a form error key)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

import homeassistant.helpers.config_validation as cv
from homeassistant.helpers.selector import (
    BooleanSelector,
    DateSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol

from .const import (
    CONF_CONTRACT_KVA,
    CONF_DAILY_HISTORY_MONTHS,
    CONF_DAILY_LIMIT_KWH,
    CONF_DWELL,
    CONF_HOLIDAY_ENTITY,
    CONF_HOURLY_HISTORY_MONTHS,
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
    CONF_SUBSCRIBED_KVA,
    CONF_TEMPERATURE_ENTITY,
    CONF_TEMPO_ENTITY,
    CONF_TEMPO_TOMORROW_ENTITY,
    CONF_TEMPO_URL,
    CONF_WEEKLY_LIMIT_EUR,
    FIELD_BATTERY,
    FIELD_CHARGE_SCRIPT,
    FIELD_DISCHARGE_SCRIPT,
    FIELD_EARLIER_PUBLIC,
    FIELD_ENTITY,
    FIELD_MAX_SHED,
    FIELD_MIN_OFF,
    FIELD_MODE,
    FIELD_OFFPEAK,
    FIELD_OPTION,
    FIELD_PRESET,
    FIELD_PRICE,
    FIELD_SETPOINT,
    FIELD_START,
    FIELD_SUBSCRIPTION,
    FIELD_TAX,
    MAX_DAILY_HISTORY_MONTHS,
    MAX_HOURLY_HISTORY_MONTHS,
    MAX_REQUEST_CAP,
    MAX_RETENTION_YEARS,
    MIN_DAILY_HISTORY_MONTHS,
    MIN_HOURLY_HISTORY_MONTHS,
    MIN_REQUEST_CAP,
)
from .energy.regulated import KVA_STEPS, default_tariff
from .energy.tariffs import (
    DEFAULT_OFFPEAK,
    OPTION_BUCKETS,
    ContractOption,
    OffPeakWindow,
    Tariff,
    TariffError,
    TariffPeriod,
)
from .options import INSIGHT_KINDS, InsightsOptions, OptionsError
from .shedding.loads import (
    Battery,
    Load,
    LoadKind,
    ServiceCall,
    ShedMode,
)
from .shedding.signals import PEAK_BUCKET_REASONS


def _number(minimum: int, maximum: int, unit: str | None = None) -> NumberSelector:
    """A whole-number box between `minimum` and `maximum`."""
    config = NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _price(unit: str, step: float | Literal["any"]) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=0, max=1000, step=step, mode=NumberSelectorMode.BOX, unit_of_measurement=unit
        )
    )


def read_url(value: Any, default: str) -> str:
    """A submitted http(s) URL without trailing slash (`default` when empty)."""
    url = str(value or default).strip().rstrip("/")
    try:
        cv.url(url)
    except vol.Invalid, ValueError:
        raise OptionsError("invalid_url") from None
    return url


# --- meter and import -------------------------------------------------------------------------

METER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_PRODUCTION): BooleanSelector(),
        vol.Optional(CONF_PRODUCTION_PDL): TextSelector(),
        vol.Required(CONF_DAILY_HISTORY_MONTHS): _number(
            MIN_DAILY_HISTORY_MONTHS, MAX_DAILY_HISTORY_MONTHS
        ),
        vol.Required(CONF_HOURLY_HISTORY_MONTHS): _number(
            MIN_HOURLY_HISTORY_MONTHS, MAX_HOURLY_HISTORY_MONTHS
        ),
        vol.Required(CONF_REQUEST_CAP): _number(MIN_REQUEST_CAP, MAX_REQUEST_CAP),
        vol.Optional(CONF_REMOVE_STATISTICS, default=False): BooleanSelector(),
        vol.Optional(CONF_RETENTION_YEARS, default=0): _number(0, MAX_RETENTION_YEARS, "years"),
    }
)

# --- contract and prices ----------------------------------------------------------------------

CONTRACT_SCHEMA = vol.Schema(
    {
        vol.Required(FIELD_OPTION): SelectSelector(
            SelectSelectorConfig(
                options=[option.value for option in ContractOption],
                mode=SelectSelectorMode.LIST,
                translation_key=FIELD_OPTION,
            )
        ),
        vol.Required(CONF_CONTRACT_KVA): SelectSelector(
            SelectSelectorConfig(
                options=[str(kva) for kva in KVA_STEPS], mode=SelectSelectorMode.DROPDOWN
            )
        ),
    }
)
BUYBACK_SCHEMA = vol.Schema(
    {
        vol.Required(FIELD_START): DateSelector(),
        vol.Required(FIELD_PRICE): NumberSelector(
            NumberSelectorConfig(
                min=0, max=10, step="any", mode=NumberSelectorMode.BOX, unit_of_measurement="€/kWh"
            )
        ),
    }
)


def public_tariff(option: ContractOption, kva: int) -> Tariff | None:
    """The public regulated prices of an option and power, or None when not known."""
    try:
        return default_tariff(option, kva)
    except TariffError:
        return None


def decimal_input(value: Any) -> Decimal:
    """A number from a form as an exact Decimal (the shortest text of the float)."""
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise TariffError("price_invalid", f"not a number: {value!r}") from None


def offpeak_text(windows: tuple[OffPeakWindow, ...]) -> str:
    """Off-peak windows as the user types them."""
    return ", ".join(window.as_text() for window in windows)


def read_day(value: Any) -> date:
    """A date field. Raises TariffError."""
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise TariffError("invalid_data", "invalid start date") from None


def read_period(user_input: Mapping[str, Any], option: ContractOption) -> TariffPeriod:
    """A tariff period from a prices form. Raises TariffError."""
    offpeak: tuple[OffPeakWindow, ...] = DEFAULT_OFFPEAK
    if option is ContractOption.HPHC:
        texts = [part for part in str(user_input.get(FIELD_OFFPEAK, "")).split(",") if part.strip()]
        offpeak = tuple(OffPeakWindow.from_text(text) for text in texts)
    optional = {
        key: decimal_input(user_input[key]) if user_input.get(key) is not None else None
        for key in (FIELD_SUBSCRIPTION, FIELD_TAX)
    }
    return TariffPeriod(
        start=read_day(user_input[FIELD_START]),
        option=option,
        prices={
            bucket: decimal_input(user_input[bucket.value]) for bucket in OPTION_BUCKETS[option]
        },
        offpeak=offpeak,
        subscription_monthly=optional[FIELD_SUBSCRIPTION],
        tax_per_kwh=optional[FIELD_TAX],
    )


def period_suggestion(period: TariffPeriod) -> dict[str, Any]:
    """Form values of a period's prices."""
    values: dict[str, Any] = {bucket.value: float(price) for bucket, price in period.prices.items()}
    if period.subscription_monthly is not None:
        values[FIELD_SUBSCRIPTION] = round(float(period.subscription_monthly), 2)
    if period.tax_per_kwh is not None:
        values[FIELD_TAX] = float(period.tax_per_kwh)
    return values


def tariff_error_field(err: TariffError) -> str:
    """The form field a tariff error belongs to."""
    if err.key.startswith("offpeak"):
        return FIELD_OFFPEAK
    if err.key in ("duplicate_start", "periods_not_sorted"):
        return FIELD_START
    return "base"


def period_schema(option: ContractOption, *, earlier_public: bool) -> vol.Schema:
    """The form of one price period of `option`."""
    fields: dict[Any, Any] = {vol.Required(FIELD_START): DateSelector()}
    for bucket in OPTION_BUCKETS[option]:
        fields[vol.Required(bucket.value)] = _price("€/kWh", "any")
    if option is ContractOption.HPHC:
        fields[vol.Required(FIELD_OFFPEAK)] = TextSelector()
    fields[vol.Optional(FIELD_SUBSCRIPTION)] = _price("€/month", 0.01)
    fields[vol.Optional(FIELD_TAX)] = _price("€/kWh", "any")
    if earlier_public:
        fields[vol.Required(FIELD_EARLIER_PUBLIC)] = BooleanSelector()
    return vol.Schema(fields)


def describe_period(period: TariffPeriod) -> str:
    """One line of text for a period."""
    prices = ", ".join(f"{bucket.value} {price}" for bucket, price in period.prices.items())
    return f"{period.start.isoformat()}: {period.option.value} ({prices})"


def describe_tariff(tariff: Tariff | None) -> str:
    """The tariff as a few lines of text for the menu."""
    if tariff is None:
        return "-"
    lines = [describe_period(period) for period in tariff.periods]
    lines += [f"{p.start.isoformat()}: buy-back {p.price}" for p in tariff.buyback]
    return "\n".join(f"- {line}" for line in lines)


# --- Tempo source and PV sensor ---------------------------------------------------------------

_COLOUR_ENTITY = EntitySelector(EntitySelectorConfig(domain=["sensor", "select", "input_select"]))
TEMPO_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_TEMPO_URL): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
        vol.Optional(CONF_TEMPO_ENTITY): _COLOUR_ENTITY,
        vol.Optional(CONF_TEMPO_TOMORROW_ENTITY): _COLOUR_ENTITY,
    }
)
PV_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_PV_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="energy")
        )
    }
)

# --- insights -----------------------------------------------------------------------------------

FIELD_ENABLED: Final = "enabled"
_LIMIT = NumberSelector(
    NumberSelectorConfig(min=0, max=100000, step="any", mode=NumberSelectorMode.BOX)
)
INSIGHTS_SCHEMA = vol.Schema(
    {
        vol.Required(FIELD_ENABLED): BooleanSelector(),
        vol.Optional(CONF_TEMPERATURE_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="temperature")
        ),
        vol.Optional(CONF_HOLIDAY_ENTITY): EntitySelector(
            EntitySelectorConfig(domain=["input_boolean", "calendar"])
        ),
        vol.Optional(CONF_DAILY_LIMIT_KWH): _LIMIT,
        vol.Optional(CONF_WEEKLY_LIMIT_EUR): _LIMIT,
        vol.Required(CONF_MAX_POWER_SHARE): NumberSelector(
            NumberSelectorConfig(min=10, max=100, step=1, unit_of_measurement="%")
        ),
        vol.Optional(CONF_NOTIFY_ENTITIES): EntitySelector(
            EntitySelectorConfig(domain="notify", multiple=True)
        ),
        vol.Required(CONF_PERSISTENT_NOTIFICATION): BooleanSelector(),
        vol.Optional(CONF_MUTED): SelectSelector(
            SelectSelectorConfig(
                options=list(INSIGHT_KINDS),
                multiple=True,
                mode=SelectSelectorMode.LIST,
                translation_key="insight_kind",
            )
        ),
    }
)


def read_insights(user_input: Mapping[str, Any]) -> InsightsOptions | None:
    """The insights settings of the form (None: turned off). Raises OptionsError."""
    if not user_input.get(FIELD_ENABLED):
        return None

    def limit(key: str) -> float | None:
        value = user_input.get(key)
        return float(value) if value else None  # empty or 0: no limit

    try:
        return InsightsOptions(
            holiday_entity=user_input.get(CONF_HOLIDAY_ENTITY) or None,
            daily_limit_kwh=limit(CONF_DAILY_LIMIT_KWH),
            weekly_limit_eur=limit(CONF_WEEKLY_LIMIT_EUR),
            max_power_share=float(user_input[CONF_MAX_POWER_SHARE]) / 100,
            notify_entities=tuple(user_input.get(CONF_NOTIFY_ENTITIES) or ()),
            persistent_notification=bool(user_input.get(CONF_PERSISTENT_NOTIFICATION)),
            muted=frozenset(user_input.get(CONF_MUTED) or ()),
        )
    except OptionsError:
        raise
    except ValueError as err:
        raise OptionsError("invalid_value", CONF_MUTED) from err


def insights_suggestion(
    insights: InsightsOptions | None, temperature_entity: str | None
) -> dict[str, Any]:
    """The form's values for the saved settings (the defaults when off)."""
    current = insights or InsightsOptions()
    return {
        FIELD_ENABLED: insights is not None,
        CONF_TEMPERATURE_ENTITY: temperature_entity,
        CONF_HOLIDAY_ENTITY: current.holiday_entity,
        CONF_DAILY_LIMIT_KWH: current.daily_limit_kwh,
        CONF_WEEKLY_LIMIT_EUR: current.weekly_limit_eur,
        CONF_MAX_POWER_SHARE: round(current.max_power_share * 100),
        CONF_NOTIFY_ENTITIES: list(current.notify_entities),
        CONF_PERSISTENT_NOTIFICATION: current.persistent_notification,
        CONF_MUTED: sorted(current.muted),
    }


# --- load shedding ----------------------------------------------------------------------------

_SCRIPT = EntitySelector(EntitySelectorConfig(domain="script"))
SHEDDING_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_POWER_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class=["power", "apparent_power"])
        ),
        vol.Required(CONF_SUBSCRIBED_KVA): _number(1, 36, "kVA"),
        vol.Required(CONF_ON_RATIO): NumberSelector(
            NumberSelectorConfig(min=10, max=100, step=1, unit_of_measurement="%")
        ),
        vol.Required(CONF_OFF_RATIO): NumberSelector(
            NumberSelectorConfig(min=5, max=99, step=1, unit_of_measurement="%")
        ),
        vol.Required(CONF_DWELL): _number(0, 3600, "s"),
        vol.Optional(CONF_PEAK_BUCKETS): SelectSelector(
            SelectSelectorConfig(
                options=[bucket.value for bucket in PEAK_BUCKET_REASONS],
                multiple=True,
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_PEAK_BUCKETS,
            )
        ),
        vol.Optional(FIELD_BATTERY): EntitySelector(EntitySelectorConfig()),
        vol.Optional(FIELD_DISCHARGE_SCRIPT): _SCRIPT,
        vol.Optional(FIELD_CHARGE_SCRIPT): _SCRIPT,
    }
)
LOAD_SCHEMA = vol.Schema(
    {
        vol.Required(FIELD_ENTITY): EntitySelector(
            EntitySelectorConfig(domain=[kind.value for kind in LoadKind])
        ),
        vol.Required(FIELD_MODE): SelectSelector(
            SelectSelectorConfig(
                options=[mode.value for mode in ShedMode],
                mode=SelectSelectorMode.LIST,
                translation_key=FIELD_MODE,
            )
        ),
        vol.Optional(FIELD_PRESET): TextSelector(),
        vol.Optional(FIELD_SETPOINT): NumberSelector(
            NumberSelectorConfig(
                min=5, max=90, step=0.5, mode=NumberSelectorMode.BOX, unit_of_measurement="°C"
            )
        ),
        vol.Required(FIELD_MIN_OFF): _number(0, 240, "min"),
        vol.Required(FIELD_MAX_SHED): _number(1, 1440, "min"),
    }
)


def read_load(user_input: Mapping[str, Any]) -> Load:
    """A load from the load form. Raises OptionsError when it does not fit together."""
    entity_id = str(user_input[FIELD_ENTITY])
    try:
        mode = ShedMode(user_input[FIELD_MODE])
        setpoint = user_input.get(FIELD_SETPOINT)
        return Load(
            entity_id=entity_id,
            kind=LoadKind(entity_id.split(".", 1)[0]),
            mode=mode,
            min_off=timedelta(minutes=float(user_input[FIELD_MIN_OFF])),
            max_shed=timedelta(minutes=float(user_input[FIELD_MAX_SHED])),
            preset=str(user_input.get(FIELD_PRESET) or "eco"),
            setpoint=None if setpoint is None or mode is not ShedMode.SETPOINT else float(setpoint),
        )
    except ValueError:
        raise OptionsError("invalid_load") from None


def load_suggestion(load: Load | None) -> dict[str, Any]:
    """The load form's values for `load` (None: a new load)."""
    if load is None:
        return {
            FIELD_MODE: ShedMode.OFF.value,
            FIELD_PRESET: "eco",
            FIELD_MIN_OFF: 5,
            FIELD_MAX_SHED: 120,
        }
    values: dict[str, Any] = {
        FIELD_ENTITY: load.entity_id,
        FIELD_MODE: load.mode.value,
        FIELD_PRESET: load.preset,
        FIELD_MIN_OFF: load.min_off.total_seconds() / 60,
        FIELD_MAX_SHED: load.max_shed.total_seconds() / 60,
    }
    if load.setpoint is not None:
        values[FIELD_SETPOINT] = load.setpoint
    return values


def read_battery(user_input: Mapping[str, Any]) -> Battery | None:
    """The battery of the shedding form (None: no battery). Raises OptionsError when only
    some of its fields are given."""
    fields = [
        user_input.get(key) for key in (FIELD_BATTERY, FIELD_DISCHARGE_SCRIPT, FIELD_CHARGE_SCRIPT)
    ]
    if not any(fields):
        return None
    if not all(fields):
        raise OptionsError("battery_incomplete", FIELD_BATTERY)
    entity_id, discharge, charge = (str(value) for value in fields)
    return Battery(
        entity_id,
        ServiceCall("script", "turn_on", discharge),
        ServiceCall("script", "turn_on", charge),
    )
