"""Config flow of the Linky integration: consent token, meter, reauth, reconfigure, options.

One config entry per meter (PDL). The token is read locally first (it is a JWT listing the
PDLs it covers); then exactly ONE request checks it against Conso API, through the shared
request budget of the base URL: the daily consumption of the last seven days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
import homeassistant.helpers.config_validation as cv
from homeassistant.helpers.selector import (
    BooleanSelector,
    DateSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import dt as dt_util
import probatio as vol

from .api import async_create_client
from .budgets import async_get_service_state
from .conso import (
    PARIS,
    BudgetExhaustedError,
    ConsentToken,
    ConsoApiAuthError,
    ConsoApiBannedError,
    ConsoApiConnectionError,
    ConsoApiHistoryLimitError,
    ConsoApiNoConsentError,
    ConsoApiNoDataError,
    ConsoApiNotHolderError,
    ConsoApiRateLimitedError,
    ConsoApiServerError,
    ExpiredTokenError,
    PdlNotInTokenError,
    TokenError,
    check_pdl,
    is_valid_pdl,
    normalize_pdl,
    parse_token,
)
from .const import (
    CONF_BASE_URL,
    CONF_DAILY_HISTORY_MONTHS,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_PDL,
    CONF_PRODUCTION,
    CONF_PRODUCTION_PDL,
    CONF_REMOVE_STATISTICS,
    CONF_REQUEST_CAP,
    CONF_TOKEN,
    DEFAULT_BASE_URL,
    DEFAULT_DAILY_HISTORY_MONTHS,
    DEFAULT_HOURLY_HISTORY_MONTHS,
    DEFAULT_REQUEST_CAP,
    DOMAIN,
    LOGGER,
    MAX_DAILY_HISTORY_MONTHS,
    MAX_HOURLY_HISTORY_MONTHS,
    MAX_REQUEST_CAP,
    MIN_REQUEST_CAP,
)
from .costs import CONF_TARIFF, tariff_from_options
from .energy.tariffs import (
    DEFAULT_OFFPEAK,
    KVA_STEPS,
    OPTION_BUCKETS,
    BuybackPeriod,
    ContractOption,
    OffPeakWindow,
    Tariff,
    TariffError,
    TariffPeriod,
    default_tariff,
)
from .load_shedding import (
    CONF_BATTERIES,
    CONF_CONTRACT_KVA,
    CONF_DWELL,
    CONF_LOAD_SHEDDING,
    CONF_LOADS,
    CONF_OFF_RATIO,
    CONF_ON_RATIO,
    CONF_PEAK_BUCKETS,
    CONF_POWER_ENTITY,
    CONF_SUBSCRIBED_KVA,
)
from .self_consumption import CONF_PV_ENTITY
from .shedding.controller import Battery, Load, LoadKind, ServiceCall, ShedMode
from .shedding.signals import DEFAULT_PEAK_BUCKETS, PEAK_BUCKET_REASONS
from .tempo import (
    CONF_TEMPO_ENTITY,
    CONF_TEMPO_TOMORROW_ENTITY,
    CONF_TEMPO_URL,
    DEFAULT_TEMPO_URL,
)

SECTION_ADVANCED = "advanced"

STEP_METER = "meter"
STEP_CONTRACT = "contract"
STEP_PRICES = "prices"
STEP_ADD_PERIOD = "add_period"
STEP_BUYBACK = "buyback"
STEP_REMOVE_PERIOD = "remove_period"
STEP_CLEAR_TARIFF = "clear_tariff"
STEP_TEMPO_SOURCE = "tempo_source"
STEP_LOAD_SHEDDING = "load_shedding"
STEP_ADD_LOAD = "add_load"
STEP_REMOVE_LOAD = "remove_load"
STEP_SELF_CONSUMPTION = "self_consumption"
CONF_BATTERY = "battery"
CONF_DISCHARGE_SCRIPT = "discharge_script"
CONF_CHARGE_SCRIPT = "charge_script"
CONF_ENTITY = "entity"
CONF_MODE = "mode"
CONF_PRESET = "preset"
CONF_SETPOINT = "setpoint"
CONF_MIN_OFF = "min_off"
CONF_MAX_SHED = "max_shed"
CONF_OPTION = "option"
CONF_KVA = "kva"
CONF_START = "start"
CONF_OFFPEAK = "offpeak"
CONF_SUBSCRIPTION = "subscription"
CONF_TAX = "tax"
CONF_EARLIER_PUBLIC = "earlier_public"
CONF_PRICE = "price"
CONF_PERIOD = "period"
DEFAULT_KVA = 6
CONSENT_URL = "https://conso.boris.sh"
VALIDATION_DAYS = 7
MIN_DAILY_HISTORY_MONTHS = 1
MIN_HOURLY_HISTORY_MONTHS = 0

_TOKEN_SELECTOR = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
)

CONNECTION_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_TOKEN): _TOKEN_SELECTOR,
        vol.Required(SECTION_ADVANCED): section(
            vol.Schema(
                {
                    vol.Required(CONF_BASE_URL, default=DEFAULT_BASE_URL): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.URL)
                    ),
                }
            ),
            {"collapsed": True},
        ),
    }
)
REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_TOKEN): _TOKEN_SELECTOR})

CONTRACT_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_OPTION): SelectSelector(
            SelectSelectorConfig(
                options=[option.value for option in ContractOption],
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_OPTION,
            )
        ),
        vol.Required(CONF_KVA): SelectSelector(
            SelectSelectorConfig(
                options=[str(kva) for kva in KVA_STEPS], mode=SelectSelectorMode.DROPDOWN
            )
        ),
    }
)
BUYBACK_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_START): DateSelector(),
        vol.Required(CONF_PRICE): NumberSelector(
            NumberSelectorConfig(
                min=0, max=10, step="any", mode=NumberSelectorMode.BOX, unit_of_measurement="€/kWh"
            )
        ),
    }
)
_COLOUR_ENTITY = EntitySelector(EntitySelectorConfig(domain=["sensor", "select", "input_select"]))
TEMPO_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_TEMPO_URL): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
        vol.Optional(CONF_TEMPO_ENTITY): _COLOUR_ENTITY,
        vol.Optional(CONF_TEMPO_TOMORROW_ENTITY): _COLOUR_ENTITY,
    }
)


def _number(minimum: int, maximum: int) -> NumberSelector:
    """A whole-number box between `minimum` and `maximum`."""
    return NumberSelector(
        NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX)
    )


OPTIONS_SCHEMA = vol.Schema(
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
    }
)


def default_options(pdl: str) -> dict[str, Any]:
    """Options of a new entry: no production, full history, default request cap."""
    return {
        CONF_PRODUCTION: False,
        CONF_PRODUCTION_PDL: pdl,
        CONF_DAILY_HISTORY_MONTHS: DEFAULT_DAILY_HISTORY_MONTHS,
        CONF_HOURLY_HISTORY_MONTHS: DEFAULT_HOURLY_HISTORY_MONTHS,
        CONF_REQUEST_CAP: DEFAULT_REQUEST_CAP,
        CONF_REMOVE_STATISTICS: False,
    }


class FormError(Exception):
    """A check failed: show the form again with `error` (a translation key) on `field`."""

    def __init__(
        self, error: str, *, field: str = "base", placeholders: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.field = field
        self.placeholders = placeholders or {}


def _token_form_error(err: TokenError) -> FormError:
    """The form error telling the user what is wrong with the token they pasted."""
    if isinstance(err, ExpiredTokenError):
        return FormError("token_expired", field=CONF_TOKEN)
    if isinstance(err, PdlNotInTokenError):
        return FormError("pdl_not_in_token", field=CONF_TOKEN)
    return FormError("invalid_token", field=CONF_TOKEN)


def _read_token(token: str, pdl: str | None = None) -> ConsentToken:
    """Decode `token` and check it is unexpired, lists only valid PDLs and covers `pdl`."""
    now = dt_util.utcnow()
    try:
        consent = parse_token(token)
        for prm in consent.prms:
            check_pdl(consent, prm, now)
        if pdl is not None:
            check_pdl(consent, pdl, now)
    except TokenError as err:
        raise _token_form_error(err) from None
    return consent


def _read_base_url(user_input: Mapping[str, Any]) -> str:
    """The submitted base URL without trailing slash; it must be an http(s) URL."""
    url = str(user_input[SECTION_ADVANCED][CONF_BASE_URL]).strip().rstrip("/")
    try:
        cv.url(url)
    except vol.Invalid, ValueError:
        raise FormError("invalid_url") from None
    return url


def _format_time(moment: datetime) -> str:
    """A retry time as the user reads it (Home Assistant's time zone)."""
    return dt_util.as_local(moment).strftime("%Y-%m-%d %H:%M")


async def async_validate_connection(
    hass: HomeAssistant, token: str, pdl: str, base_url: str, cap: int
) -> None:
    """Send ONE request (daily consumption of the last 7 days); raise FormError if refused.

    No data yet, or a range before the meter's activation, still proves that the token and
    the consent work: a new meter or a new holder is accepted.
    """
    if (await async_get_service_state(hass, base_url, cap)).banned_at is not None:
        raise FormError("banned")
    client = await async_create_client(hass, token, base_url, cap=cap)
    today = dt_util.now(PARIS).date()
    try:
        await client.daily_energy(pdl, today - timedelta(days=VALIDATION_DAYS), today)
    except ConsoApiNoDataError, ConsoApiHistoryLimitError:
        pass
    except ConsoApiAuthError:
        raise FormError("invalid_auth") from None
    except ConsoApiNoConsentError:
        raise FormError("no_consent") from None
    except ConsoApiNotHolderError:
        raise FormError("not_holder") from None
    except ConsoApiBannedError:
        raise FormError("banned") from None
    except ConsoApiRateLimitedError, BudgetExhaustedError:
        retry_at = client.budget.next_available_at()
        raise FormError("rate_limited", placeholders={"retry_at": _format_time(retry_at)}) from None
    except ConsoApiConnectionError, ConsoApiServerError:
        raise FormError("cannot_connect") from None
    except Exception:
        LOGGER.exception("Unexpected error while checking the Conso API token")
        raise FormError("unknown") from None


class LinkyConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one Linky meter from a Conso API consent token."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._token = ""
        self._base_url = DEFAULT_BASE_URL
        self._prms: tuple[str, ...] = ()

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> LinkyOptionsFlow:
        """The options flow of an entry."""
        return LinkyOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the token (and, folded away, the API address)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            try:
                self._base_url = _read_base_url(user_input)
                self._token = str(user_input[CONF_TOKEN]).strip()
                self._prms = _read_token(self._token).prms
                if len(self._prms) == 1:
                    await self._async_check_new_meter(self._prms[0])
            except FormError as err:
                errors[err.field] = err.error
                placeholders = err.placeholders
            else:
                if len(self._prms) > 1:
                    return await self.async_step_pdl()
                return self._async_create_meter_entry(self._prms[0])
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(CONNECTION_SCHEMA, user_input),
            errors=errors,
            description_placeholders={
                "consent_url": CONSENT_URL,
                "default_url": DEFAULT_BASE_URL,
                **placeholders,
            },
        )

    async def async_step_pdl(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The token covers several meters: pick one (one entry per meter)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            pdl = str(user_input[CONF_PDL])
            try:
                await self._async_check_new_meter(pdl)
            except FormError as err:
                errors[err.field] = err.error
                placeholders = err.placeholders
            else:
                return self._async_create_meter_entry(pdl)
        schema = vol.Schema(
            {
                vol.Required(CONF_PDL): SelectSelector(
                    SelectSelectorConfig(options=list(self._prms), mode=SelectSelectorMode.LIST)
                )
            }
        )
        return self.async_show_form(
            step_id="pdl",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_check_new_meter(self, pdl: str) -> None:
        """Abort if the meter already has an entry, else check the token works for it."""
        await self.async_set_unique_id(pdl)
        self._abort_if_unique_id_configured()
        await async_validate_connection(
            self.hass, self._token, pdl, self._base_url, DEFAULT_REQUEST_CAP
        )

    @callback
    def _async_create_meter_entry(self, pdl: str) -> ConfigFlowResult:
        return self.async_create_entry(
            title=f"Linky {pdl}",
            data={CONF_TOKEN: self._token, CONF_PDL: pdl, CONF_BASE_URL: self._base_url},
            options=default_options(pdl),
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The token was refused: ask for a new one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new token covering the entry's meter and check it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            token = str(user_input[CONF_TOKEN]).strip()
            try:
                await self._async_check_entry_token(entry, token, entry.data[CONF_BASE_URL])
            except FormError as err:
                errors[err.field] = err.error
                placeholders = err.placeholders
            else:
                return self.async_update_reload_and_abort(entry, data_updates={CONF_TOKEN: token})
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={
                CONF_PDL: entry.data[CONF_PDL],
                "consent_url": CONSENT_URL,
                **placeholders,
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the token and the API address of the same meter."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            token = str(user_input[CONF_TOKEN]).strip()
            try:
                base_url = _read_base_url(user_input)
                await self.async_set_unique_id(entry.data[CONF_PDL])
                self._abort_if_unique_id_mismatch(
                    description_placeholders={CONF_PDL: entry.data[CONF_PDL]}
                )
                await self._async_check_entry_token(entry, token, base_url)
            except FormError as err:
                errors[err.field] = err.error
                placeholders = err.placeholders
            else:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_TOKEN: token, CONF_BASE_URL: base_url}
                )
        suggested = user_input or {
            CONF_TOKEN: entry.data[CONF_TOKEN],
            SECTION_ADVANCED: {CONF_BASE_URL: entry.data[CONF_BASE_URL]},
        }
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(CONNECTION_SCHEMA, suggested),
            errors=errors,
            description_placeholders={
                CONF_PDL: entry.data[CONF_PDL],
                "default_url": DEFAULT_BASE_URL,
                **placeholders,
            },
        )

    async def _async_check_entry_token(self, entry: ConfigEntry, token: str, base_url: str) -> None:
        """Check a new token covers the entry's meter, then that it works for it."""
        pdl = entry.data[CONF_PDL]
        _read_token(token, pdl)
        cap = entry.options.get(CONF_REQUEST_CAP, DEFAULT_REQUEST_CAP)
        await async_validate_connection(self.hass, token, pdl, base_url, cap)


class LinkyOptionsFlow(OptionsFlowWithReload):
    """A menu: meter and import settings, contract and prices (dated periods), production
    buy-back price, Tempo colour source. Nothing here sends a request; saving reloads the
    entry, which recomputes the cost statistics from the stored energy when prices changed."""

    def __init__(self) -> None:
        """Start with no contract chosen yet."""
        self._option = ContractOption.BASE
        self._kva = DEFAULT_KVA

    @property
    def _tariff(self) -> Tariff | None:
        return tariff_from_options(self.config_entry.options)

    @callback
    def _async_save(self, **changes: Any) -> ConfigFlowResult:
        """Save the entry's options with `changes` (None removes a key)."""
        options = {**self.config_entry.options, **changes}
        return self.async_create_entry(
            data={key: value for key, value in options.items() if value is not None}
        )

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """What to change."""
        tariff = self._tariff
        menu = [STEP_METER, STEP_CONTRACT]
        if tariff is not None:
            menu += [STEP_ADD_PERIOD, STEP_BUYBACK]
            if len(tariff.periods) > 1:
                menu.append(STEP_REMOVE_PERIOD)
            menu.append(STEP_CLEAR_TARIFF)
        menu.append(STEP_TEMPO_SOURCE)
        menu.append(STEP_LOAD_SHEDDING)
        shedding = self.config_entry.options.get(CONF_LOAD_SHEDDING)
        if shedding:
            menu.append(STEP_ADD_LOAD)
            if shedding.get(CONF_LOADS):
                menu.append(STEP_REMOVE_LOAD)
        menu.append(STEP_SELF_CONSUMPTION)
        return self.async_show_menu(
            step_id="init",
            menu_options=menu,
            description_placeholders={
                CONF_PDL: self.config_entry.data[CONF_PDL],
                "tariff": _describe(tariff),
            },
        )

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Production, history depth and request cap; the entry reloads when saved."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            production_pdl = normalize_pdl(str(user_input.get(CONF_PRODUCTION_PDL, "")))
            production_pdl = production_pdl or entry.data[CONF_PDL]
            if not is_valid_pdl(production_pdl):
                errors[CONF_PRODUCTION_PDL] = "invalid_pdl"
            elif production_pdl not in parse_token(entry.data[CONF_TOKEN]).prms:
                errors[CONF_PRODUCTION_PDL] = "pdl_not_in_token"
            else:
                return self._async_save(
                    **{
                        CONF_PRODUCTION: bool(user_input[CONF_PRODUCTION]),
                        CONF_PRODUCTION_PDL: production_pdl,
                        CONF_DAILY_HISTORY_MONTHS: int(user_input[CONF_DAILY_HISTORY_MONTHS]),
                        CONF_HOURLY_HISTORY_MONTHS: int(user_input[CONF_HOURLY_HISTORY_MONTHS]),
                        CONF_REQUEST_CAP: int(user_input[CONF_REQUEST_CAP]),
                        CONF_REMOVE_STATISTICS: bool(user_input.get(CONF_REMOVE_STATISTICS)),
                    }
                )
        defaults = default_options(entry.data[CONF_PDL])
        suggested = user_input or {
            key: entry.options.get(key, value) for key, value in defaults.items()
        }
        return self.async_show_form(
            step_id=STEP_METER,
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, suggested),
            errors=errors,
            description_placeholders={CONF_PDL: entry.data[CONF_PDL]},
        )

    async def async_step_contract(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the contract option and the subscribed power."""
        if user_input is not None:
            self._option = ContractOption(user_input[CONF_OPTION])
            self._kva = int(user_input[CONF_KVA])
            return await self.async_step_prices()
        tariff = self._tariff
        suggested = {
            CONF_OPTION: (tariff.periods[-1].option if tariff else ContractOption.BASE).value,
            CONF_KVA: str(self.config_entry.options.get(CONF_KVA, DEFAULT_KVA)),
        }
        return self.async_show_form(
            step_id=STEP_CONTRACT,
            data_schema=self.add_suggested_values_to_schema(CONTRACT_SCHEMA, suggested),
        )

    async def async_step_prices(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The prices of the bill, pre-filled with the newest public regulated prices; the
        public prices of earlier dates can price the older history."""
        public = _public_tariff(self._option, self._kva)
        latest = public.periods[-1] if public else None
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                period = _read_period(user_input, self._option)
                earlier: list[TariffPeriod] = []
                if public is not None and user_input.get(CONF_EARLIER_PUBLIC):
                    earlier = [
                        replace(
                            old,
                            offpeak=period.offpeak,
                            tax_per_kwh=period.tax_per_kwh,
                            subscription_monthly=old.subscription_monthly
                            or period.subscription_monthly,
                        )
                        for old in public.periods
                        if old.start < period.start
                    ]
                old = self._tariff
                tariff = Tariff((*earlier, period), old.buyback if old else ())
            except TariffError as err:
                errors[_error_field(err)] = err.key
            else:
                return self._async_save(**{CONF_TARIFF: tariff.as_dict(), CONF_KVA: self._kva})
        suggested: dict[str, Any] = user_input or {
            CONF_START: (latest.start if latest else _today().replace(day=1)).isoformat(),
            CONF_OFFPEAK: _offpeak_text(DEFAULT_OFFPEAK),
            CONF_EARLIER_PUBLIC: True,
            **(_period_suggestion(latest) if latest else {}),
        }
        return self.async_show_form(
            step_id=STEP_PRICES,
            data_schema=self.add_suggested_values_to_schema(
                _period_schema(self._option, earlier_public=public is not None), suggested
            ),
            errors=errors,
            description_placeholders={
                "source_date": latest.start.isoformat() if latest else "-",
                "kva": str(self._kva),
            },
        )

    async def async_step_add_period(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """New prices from a date on (the regulated tariff moves in February and August);
        the earlier periods are kept."""
        tariff = self._tariff
        if tariff is None:
            return await self.async_step_contract()
        last = tariff.periods[-1]
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                period = _read_period(user_input, last.option)
                periods = sorted((*tariff.periods, period), key=lambda p: p.start)
                new = Tariff(tuple(periods), tariff.buyback)
            except TariffError as err:
                errors[_error_field(err)] = err.key
            else:
                return self._async_save(**{CONF_TARIFF: new.as_dict()})
        kva = int(self.config_entry.options.get(CONF_KVA, DEFAULT_KVA))
        public = _public_tariff(last.option, kva)
        newer = [p for p in public.periods if p.start > last.start] if public else []
        base = (
            replace(last, start=newer[-1].start, prices=newer[-1].prices)
            if newer
            else replace(last, start=_today())
        )
        suggested = user_input or {
            CONF_START: base.start.isoformat(),
            CONF_OFFPEAK: _offpeak_text(last.offpeak),
            **_period_suggestion(base),
        }
        return self.async_show_form(
            step_id=STEP_ADD_PERIOD,
            data_schema=self.add_suggested_values_to_schema(
                _period_schema(last.option, earlier_public=False), suggested
            ),
            errors=errors,
            description_placeholders={"last_start": last.start.isoformat()},
        )

    async def async_step_buyback(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The price paid for injected energy, from a date on."""
        tariff = self._tariff
        if tariff is None:
            return await self.async_step_contract()
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                start = date.fromisoformat(str(user_input[CONF_START]))
                kept = [p for p in tariff.buyback if p.start != start]
                added = BuybackPeriod(start, _decimal_input(user_input[CONF_PRICE]))
                new = replace(tariff, buyback=tuple(sorted((*kept, added), key=lambda p: p.start)))
            except TariffError as err:
                errors[_error_field(err)] = err.key
            else:
                return self._async_save(**{CONF_TARIFF: new.as_dict()})
        last = tariff.buyback[-1] if tariff.buyback else None
        suggested = user_input or {
            CONF_START: (last.start if last else tariff.periods[0].start).isoformat(),
            **({CONF_PRICE: float(last.price)} if last else {}),
        }
        return self.async_show_form(
            step_id=STEP_BUYBACK,
            data_schema=self.add_suggested_values_to_schema(BUYBACK_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_remove_period(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Remove one price period (the one before it then applies longer)."""
        tariff = self._tariff
        if tariff is None or len(tariff.periods) < 2:
            return await self.async_step_init()
        if user_input is not None:
            start = date.fromisoformat(str(user_input[CONF_PERIOD]))
            new = replace(tariff, periods=tuple(p for p in tariff.periods if p.start != start))
            return self._async_save(**{CONF_TARIFF: new.as_dict()})
        schema = vol.Schema(
            {
                vol.Required(CONF_PERIOD): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=p.start.isoformat(), label=_describe_period(p))
                            for p in tariff.periods
                        ],
                        mode=SelectSelectorMode.LIST,
                    )
                )
            }
        )
        return self.async_show_form(step_id=STEP_REMOVE_PERIOD, data_schema=schema)

    async def async_step_clear_tariff(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Forget the contract and prices (the cost statistics are removed)."""
        if user_input is not None:
            return self._async_save(**{CONF_TARIFF: None, CONF_KVA: None})
        return self.async_show_form(step_id=STEP_CLEAR_TARIFF, data_schema=vol.Schema({}))

    async def async_step_tempo_source(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where Tempo day colours come from: the public calendar service, or entities."""
        errors: dict[str, str] = {}
        if user_input is not None:
            url = str(user_input.get(CONF_TEMPO_URL) or DEFAULT_TEMPO_URL).strip().rstrip("/")
            try:
                cv.url(url)
            except vol.Invalid, ValueError:
                errors[CONF_TEMPO_URL] = "invalid_url"
            else:
                return self._async_save(
                    **{
                        CONF_TEMPO_URL: url,
                        CONF_TEMPO_ENTITY: user_input.get(CONF_TEMPO_ENTITY) or None,
                        CONF_TEMPO_TOMORROW_ENTITY: user_input.get(CONF_TEMPO_TOMORROW_ENTITY)
                        or None,
                    }
                )
        options = self.config_entry.options
        suggested = user_input or {
            CONF_TEMPO_URL: options.get(CONF_TEMPO_URL, DEFAULT_TEMPO_URL),
            **{
                key: options[key]
                for key in (CONF_TEMPO_ENTITY, CONF_TEMPO_TOMORROW_ENTITY)
                if options.get(key)
            },
        }
        return self.async_show_form(
            step_id=STEP_TEMPO_SOURCE,
            data_schema=self.add_suggested_values_to_schema(TEMPO_SCHEMA, suggested),
            errors=errors,
            description_placeholders={"default_url": DEFAULT_TEMPO_URL},
        )

    async def async_step_load_shedding(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The peak signals (live power, subscribed power, thresholds, tariff peaks) and
        an optional battery; the loads are added one by one from the menu."""
        options = self.config_entry.options
        section: dict[str, Any] = dict(options.get(CONF_LOAD_SHEDDING) or {})
        errors: dict[str, str] = {}
        if user_input is not None:
            on_ratio = float(user_input[CONF_ON_RATIO]) / 100
            off_ratio = float(user_input[CONF_OFF_RATIO]) / 100
            battery = _read_battery(user_input)
            if not 0 < off_ratio < on_ratio:
                errors[CONF_OFF_RATIO] = "off_above_on"
            elif battery is False:
                errors[CONF_BATTERY] = "battery_incomplete"
            else:
                section.update(
                    {
                        CONF_POWER_ENTITY: user_input.get(CONF_POWER_ENTITY) or None,
                        CONF_SUBSCRIBED_KVA: float(user_input[CONF_SUBSCRIBED_KVA]),
                        CONF_ON_RATIO: on_ratio,
                        CONF_OFF_RATIO: off_ratio,
                        CONF_DWELL: float(user_input[CONF_DWELL]),
                        CONF_PEAK_BUCKETS: list(user_input.get(CONF_PEAK_BUCKETS, [])),
                        CONF_BATTERIES: [] if battery is None else [battery.as_dict()],
                    }
                )
                section.setdefault(CONF_LOADS, [])
                return self._async_save(**{CONF_LOAD_SHEDDING: section})
        batteries = [Battery.from_dict(raw) for raw in section.get(CONF_BATTERIES, [])]
        suggested = user_input or {
            CONF_POWER_ENTITY: section.get(CONF_POWER_ENTITY),
            CONF_SUBSCRIBED_KVA: section.get(CONF_SUBSCRIBED_KVA)
            or options.get(CONF_CONTRACT_KVA, DEFAULT_KVA),
            CONF_ON_RATIO: round(100 * float(section.get(CONF_ON_RATIO, 0.9))),
            CONF_OFF_RATIO: round(100 * float(section.get(CONF_OFF_RATIO, 0.8))),
            CONF_DWELL: section.get(CONF_DWELL, 120),
            CONF_PEAK_BUCKETS: section.get(
                CONF_PEAK_BUCKETS, sorted(b.value for b in DEFAULT_PEAK_BUCKETS)
            ),
            **(
                {
                    CONF_BATTERY: batteries[0].entity_id,
                    CONF_DISCHARGE_SCRIPT: batteries[0].discharge.entity_id,
                    CONF_CHARGE_SCRIPT: batteries[0].charge.entity_id,
                }
                if batteries
                else {}
            ),
        }
        suggested = {key: value for key, value in suggested.items() if value is not None}
        return self.async_show_form(
            step_id=STEP_LOAD_SHEDDING,
            data_schema=self.add_suggested_values_to_schema(SHEDDING_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_add_load(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a load at the end of the priority list (shed last, restored first)."""
        section: dict[str, Any] = dict(self.config_entry.options.get(CONF_LOAD_SHEDDING) or {})
        loads = list(section.get(CONF_LOADS, []))
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                load = _read_load(user_input)
            except ValueError:
                errors["base"] = "invalid_load"
            else:
                if any(raw["entity_id"] == load.entity_id for raw in loads):
                    errors[CONF_ENTITY] = "duplicate_load"
                else:
                    section[CONF_LOADS] = [*loads, load.as_dict()]
                    return self._async_save(**{CONF_LOAD_SHEDDING: section})
        suggested = user_input or {
            CONF_MODE: ShedMode.OFF.value,
            CONF_PRESET: "eco",
            CONF_MIN_OFF: 5,
            CONF_MAX_SHED: 120,
        }
        return self.async_show_form(
            step_id=STEP_ADD_LOAD,
            data_schema=self.add_suggested_values_to_schema(LOAD_SCHEMA, suggested),
            errors=errors,
            description_placeholders={"count": str(len(loads))},
        )

    async def async_step_remove_load(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Remove a load (restored at once if it is shed)."""
        section: dict[str, Any] = dict(self.config_entry.options.get(CONF_LOAD_SHEDDING) or {})
        loads = list(section.get(CONF_LOADS, []))
        if user_input is not None:
            section[CONF_LOADS] = [
                raw for raw in loads if raw["entity_id"] != user_input[CONF_ENTITY]
            ]
            return self._async_save(**{CONF_LOAD_SHEDDING: section})
        schema = vol.Schema(
            {
                vol.Required(CONF_ENTITY): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(
                                value=raw["entity_id"], label=f"{index}. {raw['entity_id']}"
                            )
                            for index, raw in enumerate(loads, start=1)
                        ],
                        mode=SelectSelectorMode.LIST,
                    )
                )
            }
        )
        return self.async_show_form(step_id=STEP_REMOVE_LOAD, data_schema=schema)

    async def async_step_self_consumption(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The PV production energy sensor (empty: no self-consumption figures)."""
        if user_input is not None:
            return self._async_save(**{CONF_PV_ENTITY: user_input.get(CONF_PV_ENTITY) or None})
        pv = self.config_entry.options.get(CONF_PV_ENTITY)
        return self.async_show_form(
            step_id=STEP_SELF_CONSUMPTION,
            data_schema=self.add_suggested_values_to_schema(
                PV_SCHEMA, {CONF_PV_ENTITY: pv} if pv else {}
            ),
        )


def _today() -> date:
    return dt_util.now(PARIS).date()


def _public_tariff(option: ContractOption, kva: int) -> Tariff | None:
    """The public regulated prices of an option and power, or None when not known."""
    try:
        return default_tariff(option, kva)
    except TariffError:
        return None


def _decimal_input(value: Any) -> Decimal:
    """A number from a form as an exact Decimal (the shortest text of the float)."""
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise TariffError("price_invalid", f"not a number: {value!r}") from None


def _offpeak_text(windows: tuple[OffPeakWindow, ...]) -> str:
    return ", ".join(window.as_text() for window in windows)


def _read_period(user_input: Mapping[str, Any], option: ContractOption) -> TariffPeriod:
    """A tariff period from a prices form. Raises TariffError."""
    try:
        start = date.fromisoformat(str(user_input[CONF_START]))
    except ValueError:
        raise TariffError("invalid_data", "invalid start date") from None
    offpeak: tuple[OffPeakWindow, ...] = DEFAULT_OFFPEAK
    if option is ContractOption.HPHC:
        texts = [part for part in str(user_input.get(CONF_OFFPEAK, "")).split(",") if part.strip()]
        offpeak = tuple(OffPeakWindow.from_text(text) for text in texts)
    optional = {
        key: _decimal_input(user_input[key]) if user_input.get(key) is not None else None
        for key in (CONF_SUBSCRIPTION, CONF_TAX)
    }
    return TariffPeriod(
        start=start,
        option=option,
        prices={
            bucket: _decimal_input(user_input[bucket.value]) for bucket in OPTION_BUCKETS[option]
        },
        offpeak=offpeak,
        subscription_monthly=optional[CONF_SUBSCRIPTION],
        tax_per_kwh=optional[CONF_TAX],
    )


def _period_suggestion(period: TariffPeriod) -> dict[str, Any]:
    """Form values of a period's prices."""
    values: dict[str, Any] = {bucket.value: float(price) for bucket, price in period.prices.items()}
    if period.subscription_monthly is not None:
        values[CONF_SUBSCRIPTION] = round(float(period.subscription_monthly), 2)
    if period.tax_per_kwh is not None:
        values[CONF_TAX] = float(period.tax_per_kwh)
    return values


def _error_field(err: TariffError) -> str:
    """The form field a tariff error belongs to."""
    if err.key.startswith("offpeak"):
        return CONF_OFFPEAK
    if err.key in ("duplicate_start", "periods_not_sorted"):
        return CONF_START
    return "base"


def _price_selector(unit: str, step: float | Literal["any"]) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=0, max=1000, step=step, mode=NumberSelectorMode.BOX, unit_of_measurement=unit
        )
    )


def _period_schema(option: ContractOption, *, earlier_public: bool) -> vol.Schema:
    """The form of one price period of `option`."""
    fields: dict[Any, Any] = {vol.Required(CONF_START): DateSelector()}
    for bucket in OPTION_BUCKETS[option]:
        fields[vol.Required(bucket.value)] = _price_selector("€/kWh", "any")
    if option is ContractOption.HPHC:
        fields[vol.Required(CONF_OFFPEAK)] = TextSelector()
    fields[vol.Optional(CONF_SUBSCRIPTION)] = _price_selector("€/month", 0.01)
    fields[vol.Optional(CONF_TAX)] = _price_selector("€/kWh", "any")
    if earlier_public:
        fields[vol.Required(CONF_EARLIER_PUBLIC)] = BooleanSelector()
    return vol.Schema(fields)


def _describe_period(period: TariffPeriod) -> str:
    prices = ", ".join(f"{bucket.value} {price}" for bucket, price in period.prices.items())
    return f"{period.start.isoformat()}: {period.option.value} ({prices})"


def _describe(tariff: Tariff | None) -> str:
    """The tariff as a few lines of text for the menu."""
    if tariff is None:
        return "-"
    lines = [_describe_period(period) for period in tariff.periods]
    lines += [f"{p.start.isoformat()}: buy-back {p.price}" for p in tariff.buyback]
    return "\n".join(f"- {line}" for line in lines)


def _minutes(minimum: int, maximum: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="min"
        )
    )


_SCRIPT = EntitySelector(EntitySelectorConfig(domain="script"))
SHEDDING_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_POWER_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class=["power", "apparent_power"])
        ),
        vol.Required(CONF_SUBSCRIBED_KVA): NumberSelector(
            NumberSelectorConfig(
                min=1, max=36, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="kVA"
            )
        ),
        vol.Required(CONF_ON_RATIO): NumberSelector(
            NumberSelectorConfig(min=10, max=100, step=1, unit_of_measurement="%")
        ),
        vol.Required(CONF_OFF_RATIO): NumberSelector(
            NumberSelectorConfig(min=5, max=99, step=1, unit_of_measurement="%")
        ),
        vol.Required(CONF_DWELL): NumberSelector(
            NumberSelectorConfig(
                min=0, max=3600, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="s"
            )
        ),
        vol.Optional(CONF_PEAK_BUCKETS): SelectSelector(
            SelectSelectorConfig(
                options=[bucket.value for bucket in PEAK_BUCKET_REASONS],
                multiple=True,
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_PEAK_BUCKETS,
            )
        ),
        vol.Optional(CONF_BATTERY): EntitySelector(EntitySelectorConfig()),
        vol.Optional(CONF_DISCHARGE_SCRIPT): _SCRIPT,
        vol.Optional(CONF_CHARGE_SCRIPT): _SCRIPT,
    }
)
LOAD_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_ENTITY): EntitySelector(
            EntitySelectorConfig(domain=[kind.value for kind in LoadKind])
        ),
        vol.Required(CONF_MODE): SelectSelector(
            SelectSelectorConfig(
                options=[mode.value for mode in ShedMode],
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_MODE,
            )
        ),
        vol.Optional(CONF_PRESET): TextSelector(),
        vol.Optional(CONF_SETPOINT): NumberSelector(
            NumberSelectorConfig(
                min=5, max=90, step=0.5, mode=NumberSelectorMode.BOX, unit_of_measurement="°C"
            )
        ),
        vol.Required(CONF_MIN_OFF): _minutes(0, 240),
        vol.Required(CONF_MAX_SHED): _minutes(1, 1440),
    }
)
PV_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_PV_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="energy")
        )
    }
)


def _read_load(user_input: Mapping[str, Any]) -> Load:
    """A load from the add-load form. Raises ValueError when it does not fit together."""
    entity_id = str(user_input[CONF_ENTITY])
    mode = ShedMode(user_input[CONF_MODE])
    setpoint = user_input.get(CONF_SETPOINT)
    return Load(
        entity_id=entity_id,
        kind=LoadKind(entity_id.split(".", 1)[0]),
        mode=mode,
        min_off=timedelta(minutes=float(user_input[CONF_MIN_OFF])),
        max_shed=timedelta(minutes=float(user_input[CONF_MAX_SHED])),
        preset=str(user_input.get(CONF_PRESET) or "eco"),
        setpoint=None if setpoint is None or mode is not ShedMode.SETPOINT else float(setpoint),
    )


def _read_battery(user_input: Mapping[str, Any]) -> Battery | Literal[False] | None:
    """The battery of the form: None when none is given, False when incomplete."""
    fields = [
        user_input.get(key) for key in (CONF_BATTERY, CONF_DISCHARGE_SCRIPT, CONF_CHARGE_SCRIPT)
    ]
    if not any(fields):
        return None
    if not all(fields):
        return False
    entity_id, discharge, charge = (str(value) for value in fields)
    return Battery(
        entity_id,
        ServiceCall("script", "turn_on", discharge),
        ServiceCall("script", "turn_on", charge),
    )
