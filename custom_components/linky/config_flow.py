"""Config flow of the Linky integration: consent token, meter, reauth, reconfigure, options.

One config entry per meter (PDL). The token is read locally first (it is a JWT listing the
PDLs it covers); then exactly ONE request checks it against Conso API, through the shared
request budget of the base URL: the daily consumption of the last seven days.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

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

SECTION_ADVANCED = "advanced"
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
    """Production, history depth and request cap of one meter (no request is sent)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and check the options; the entry reloads when they are saved."""
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
                return self.async_create_entry(
                    data={
                        CONF_PRODUCTION: bool(user_input[CONF_PRODUCTION]),
                        CONF_PRODUCTION_PDL: production_pdl,
                        CONF_DAILY_HISTORY_MONTHS: int(user_input[CONF_DAILY_HISTORY_MONTHS]),
                        CONF_HOURLY_HISTORY_MONTHS: int(user_input[CONF_HOURLY_HISTORY_MONTHS]),
                        CONF_REQUEST_CAP: int(user_input[CONF_REQUEST_CAP]),
                    }
                )
        suggested = user_input or {**default_options(entry.data[CONF_PDL]), **entry.options}
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, suggested),
            errors=errors,
            description_placeholders={CONF_PDL: entry.data[CONF_PDL]},
        )
