"""Config flow of the Linky integration: consent token, meter, reauth, reconfigure.

One config entry per meter (PDL). The token is read locally first (it is a JWT listing the
PDLs it covers); then exactly ONE request checks it against Conso API, through the shared
request budget of the base URL: the daily consumption of the last seven days. The options
are in `options_flow.py`, the loads to shed (config subentries) in `subentry_flow.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
import homeassistant.helpers.config_validation as cv
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import dt as dt_util
import probatio as vol

from .conso import (
    ConsentToken,
    ConsoApiError,
    ErrorKind,
    ExpiredTokenError,
    PdlNotInTokenError,
    TokenError,
    check_pdl,
    parse_token,
)
from .const import (
    CONF_BASE_URL,
    CONF_PDL,
    CONF_TOKEN,
    CONSENT_URL,
    DEFAULT_BASE_URL,
    DEFAULT_REQUEST_CAP,
    DOMAIN,
    LOGGER,
    SUBENTRY_LOAD,
)
from .instance import async_create_client, async_get_api_state
from .localtime import local_date
from .options import OPTIONS_VERSION, ImportOptions, LinkyOptions
from .options_flow import LinkyOptionsFlow
from .subentry_flow import LoadSubentryFlow

SECTION_ADVANCED = "advanced"
VALIDATION_DAYS = 7
ACCEPTED_KINDS = frozenset({ErrorKind.NO_DATA, ErrorKind.HISTORY_LIMIT})
"""Answers that still prove the token and the consent work (a new meter or holder)."""
UNEXPECTED_KINDS = frozenset({ErrorKind.REQUEST, ErrorKind.MALFORMED_RESPONSE, ErrorKind.UNKNOWN})
"""Answers that are logged: the address may not be a Conso API (never logs the token)."""

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


class FormError(Exception):
    """A check failed: show the form again with `error` (a translation key) on `field`."""

    def __init__(
        self, error: str, *, field: str = "base", placeholders: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.field = field
        self.placeholders = placeholders or {}


def _read_token(token: str, pdl: str | None = None) -> ConsentToken:
    """Decode `token` and check it is unexpired, lists only valid PDLs and covers `pdl`."""
    now = dt_util.utcnow()
    try:
        consent = parse_token(token)
        for prm in consent.prms:
            check_pdl(consent, prm, now)
        if pdl is not None:
            check_pdl(consent, pdl, now)
    except ExpiredTokenError:
        raise FormError("token_expired", field=CONF_TOKEN) from None
    except PdlNotInTokenError:
        raise FormError("pdl_not_in_token", field=CONF_TOKEN) from None
    except TokenError:
        raise FormError("invalid_token", field=CONF_TOKEN) from None
    return consent


def _read_base_url(user_input: Mapping[str, Any]) -> str:
    """The submitted base URL without trailing slash. The token goes there: https only
    (plain http only to this machine, for the emulator or a Conso API run beside it)."""
    url = str(user_input[SECTION_ADVANCED][CONF_BASE_URL]).strip().rstrip("/")
    try:
        cv.url(url)
    except vol.Invalid, ValueError:
        raise FormError("invalid_url") from None
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" and not _is_loopback(parts.hostname):
        raise FormError("insecure_url")
    return url


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _needs_confirmation(url: str) -> bool:
    """Whether the token would leave this machine for another host than Conso API's."""
    host = urlsplit(url).hostname
    return not _is_loopback(host) and host != urlsplit(DEFAULT_BASE_URL).hostname


def _without_token(user_input: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a form shows again: never the token (a secret goes to the browser once)."""
    if user_input is None:
        return None
    return {key: value for key, value in user_input.items() if key != CONF_TOKEN}


def _format_time(moment: datetime) -> str:
    """A retry time as the user reads it (Home Assistant's time zone)."""
    return dt_util.as_local(moment).strftime("%Y-%m-%d %H:%M")


async def async_validate_connection(
    hass: HomeAssistant, token: str, pdl: str, base_url: str, cap: int
) -> None:
    """Send ONE request (daily consumption of the last 7 days); raise FormError if refused,
    with the error's kind as the form error."""
    if (await async_get_api_state(hass, base_url, cap)).banned_at is not None:
        raise FormError(ErrorKind.BANNED)
    client = await async_create_client(hass, token, base_url, cap=cap)
    today = local_date(dt_util.utcnow())
    try:
        await client.daily_energy(pdl, today - timedelta(days=VALIDATION_DAYS), today)
    except ConsoApiError as err:
        if err.kind in ACCEPTED_KINDS:
            return
        if err.kind in UNEXPECTED_KINDS:
            LOGGER.warning("Checking the token with %s failed: %s", base_url, err.message)
        placeholders = {}
        if err.kind in (ErrorKind.RATE_LIMITED, ErrorKind.BUDGET_EXHAUSTED):
            placeholders["retry_at"] = _format_time(client.budget.next_available_at())
        raise FormError(err.kind, placeholders=placeholders) from None
    except Exception:
        LOGGER.exception("Unexpected error while checking the Conso API token")
        raise FormError("unknown") from None


class LinkyConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one Linky meter from a Conso API consent token."""

    VERSION = 1
    MINOR_VERSION = OPTIONS_VERSION

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

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """The loads to shed are subentries of the meter's entry."""
        return {SUBENTRY_LOAD: LoadSubentryFlow}

    def _show(
        self,
        step_id: str,
        schema: vol.Schema,
        errors: dict[str, str],
        placeholders: Mapping[str, str],
    ) -> ConfigFlowResult:
        return self.async_show_form(
            step_id=step_id,
            data_schema=schema,
            errors=errors,
            description_placeholders={
                "consent_url": CONSENT_URL,
                "default_url": DEFAULT_BASE_URL,
                **placeholders,
            },
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the token (and, folded away, the API address)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            try:
                self._base_url = _read_base_url(user_input)
                self._token = str(user_input[CONF_TOKEN]).strip()
                self._prms = _read_token(self._token).prms
            except FormError as err:
                errors[err.field] = err.error
                placeholders = err.placeholders
            else:
                if _needs_confirmation(self._base_url):
                    return await self.async_step_confirm_url()
                return await self._async_after_url()
        schema = self.add_suggested_values_to_schema(CONNECTION_SCHEMA, _without_token(user_input))
        return self._show("user", schema, errors, placeholders)

    async def async_step_confirm_url(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The API address is not Conso API's: say where the token would go before any
        request is sent there."""
        if user_input is not None:
            if self.source == SOURCE_RECONFIGURE:
                return await self._async_reconfigure_checked()
            return await self._async_after_url()
        return self.async_show_form(
            step_id="confirm_url",
            data_schema=vol.Schema({}),
            description_placeholders={
                "host": urlsplit(self._base_url).hostname or self._base_url,
                "default_url": DEFAULT_BASE_URL,
            },
        )

    async def _async_after_url(self) -> ConfigFlowResult:
        """Check the only meter of the token, or let the user pick one."""
        if len(self._prms) > 1:
            return await self.async_step_pdl()
        try:
            await self._async_check_new_meter(self._prms[0])
        except FormError as err:
            return self._show(
                "user",
                self.add_suggested_values_to_schema(
                    CONNECTION_SCHEMA, {SECTION_ADVANCED: {CONF_BASE_URL: self._base_url}}
                ),
                {err.field: err.error},
                err.placeholders,
            )
        return self._async_create_meter_entry(self._prms[0])

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
        schema = self.add_suggested_values_to_schema(schema, user_input)
        return self._show("pdl", schema, errors, placeholders)

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
            options=LinkyOptions(meter=ImportOptions(production_pdl=pdl)).as_options(),
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
        placeholders: dict[str, str] = {CONF_PDL: entry.data[CONF_PDL]}
        if user_input is not None:
            token = str(user_input[CONF_TOKEN]).strip()
            try:
                await self._async_check_entry_token(entry, token, entry.data[CONF_BASE_URL])
            except FormError as err:
                errors[err.field] = err.error
                placeholders |= err.placeholders
            else:
                return self._async_update_entry(entry, {CONF_TOKEN: token})
        return self._show("reauth_confirm", REAUTH_SCHEMA, errors, placeholders)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the token and the API address of the same meter. The stored token is
        never sent back to the browser: the field starts empty."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {CONF_PDL: entry.data[CONF_PDL]}
        if user_input is not None:
            self._token = str(user_input[CONF_TOKEN]).strip()
            try:
                self._base_url = _read_base_url(user_input)
                await self.async_set_unique_id(entry.data[CONF_PDL])
                self._abort_if_unique_id_mismatch(
                    description_placeholders={CONF_PDL: entry.data[CONF_PDL]}
                )
                _read_token(self._token, entry.data[CONF_PDL])
            except FormError as err:
                errors[err.field] = err.error
                placeholders |= err.placeholders
            else:
                if self._base_url != entry.data[CONF_BASE_URL] and _needs_confirmation(
                    self._base_url
                ):
                    return await self.async_step_confirm_url()
                return await self._async_reconfigure_checked()
        suggested = _without_token(user_input) or {
            SECTION_ADVANCED: {CONF_BASE_URL: entry.data[CONF_BASE_URL]}
        }
        schema = self.add_suggested_values_to_schema(CONNECTION_SCHEMA, suggested)
        return self._show("reconfigure", schema, errors, placeholders)

    async def _async_reconfigure_checked(self) -> ConfigFlowResult:
        """Check the new connection (one request), then save it."""
        entry = self._get_reconfigure_entry()
        try:
            await self._async_check_entry_token(entry, self._token, self._base_url)
        except FormError as err:
            return self._show(
                "reconfigure",
                self.add_suggested_values_to_schema(
                    CONNECTION_SCHEMA, {SECTION_ADVANCED: {CONF_BASE_URL: self._base_url}}
                ),
                {err.field: err.error},
                {CONF_PDL: entry.data[CONF_PDL], **err.placeholders},
            )
        return self._async_update_entry(
            entry, {CONF_TOKEN: self._token, CONF_BASE_URL: self._base_url}
        )

    @callback
    def _async_update_entry(self, entry: ConfigEntry, updates: dict[str, Any]) -> ConfigFlowResult:
        """Save the new connection; the entry is set up again with it."""
        return self.async_update_reload_and_abort(entry, data_updates=updates)

    async def _async_check_entry_token(self, entry: ConfigEntry, token: str, base_url: str) -> None:
        """Check a new token covers the entry's meter, then that it works for it."""
        pdl = entry.data[CONF_PDL]
        _read_token(token, pdl)
        cap = LinkyOptions.parse(entry.options).meter.request_cap
        await async_validate_connection(self.hass, token, pdl, base_url, cap)
