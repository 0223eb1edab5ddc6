"""Options flow of a meter: a menu of what to change, on the typed options (`options.py`).

Meter and import settings, contract and dated prices, production buy-back price, Tempo
colour source, load-shedding signals and battery, PV sensor. Nothing here sends a request;
each step saves the whole options (`LinkyOptions.as_options()`) and the entry is set up
again, which recomputes the cost statistics from the stored energy when the prices changed.
The loads to shed are the entry's subentries (`subentry_flow.py`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.util import dt as dt_util
import probatio as vol

from .conso import is_valid_pdl, normalize_pdl, parse_token
from .const import (
    CONF_CONTRACT_KVA,
    CONF_DAILY_HISTORY_MONTHS,
    CONF_DWELL,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_OFF_RATIO,
    CONF_ON_RATIO,
    CONF_PDL,
    CONF_PEAK_BUCKETS,
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
    CONF_TOKEN,
    DEFAULT_KVA,
    DEFAULT_TEMPO_URL,
    FIELD_BATTERY,
    FIELD_CHARGE_SCRIPT,
    FIELD_DISCHARGE_SCRIPT,
    FIELD_EARLIER_PUBLIC,
    FIELD_OFFPEAK,
    FIELD_OPTION,
    FIELD_PERIOD,
    FIELD_PRICE,
    FIELD_START,
)
from .energy.tariffs import (
    DEFAULT_OFFPEAK,
    Bucket,
    BuybackPeriod,
    ContractOption,
    Tariff,
    TariffError,
    TariffPeriod,
)
from .flow_forms import (
    BUYBACK_SCHEMA,
    CONTRACT_SCHEMA,
    INSIGHTS_SCHEMA,
    METER_SCHEMA,
    PV_SCHEMA,
    SHEDDING_SCHEMA,
    TEMPO_SCHEMA,
    decimal_input,
    describe_period,
    describe_tariff,
    insights_suggestion,
    offpeak_text,
    period_schema,
    period_suggestion,
    public_tariff,
    read_battery,
    read_day,
    read_insights,
    read_period,
    read_url,
    tariff_error_field,
)
from .localtime import local_date
from .options import (
    DEFAULT_DWELL,
    DEFAULT_OFF_RATIO,
    DEFAULT_ON_RATIO,
    ImportOptions,
    LinkyOptions,
    OptionsError,
    SheddingOptions,
    TempoSourceOptions,
)
from .shedding.signals import PowerThreshold


class LinkyOptionsFlow(OptionsFlowWithReload):
    """The options menu of a meter (see the module docstring)."""

    def __init__(self) -> None:
        """Start with no contract chosen yet."""
        self._option = ContractOption.BASE
        self._kva = DEFAULT_KVA

    @property
    def _options(self) -> LinkyOptions:
        """The entry's options as saved (the loads do not matter here)."""
        return LinkyOptions.parse(self.config_entry.options)

    @callback
    def _async_save(self, options: LinkyOptions) -> ConfigFlowResult:
        return self.async_create_entry(data=options.as_options())

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """What to change."""
        tariff = self._options.tariff
        menu = ["meter", "contract"]
        if tariff is not None:
            menu += ["add_period", "buyback"]
            if len(tariff.periods) > 1:
                menu.append("remove_period")
            menu.append("clear_tariff")
        menu += ["tempo_source", "load_shedding", "self_consumption", "insights"]
        return self.async_show_menu(
            step_id="init",
            menu_options=menu,
            description_placeholders={
                CONF_PDL: self.config_entry.data[CONF_PDL],
                "tariff": describe_tariff(tariff),
            },
        )

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Production, history depth and request cap."""
        entry = self.config_entry
        options = self._options
        errors: dict[str, str] = {}
        if user_input is not None:
            production_pdl = normalize_pdl(str(user_input.get(CONF_PRODUCTION_PDL, "")))
            production_pdl = production_pdl or entry.data[CONF_PDL]
            if not is_valid_pdl(production_pdl):
                errors[CONF_PRODUCTION_PDL] = "invalid_pdl"
            elif production_pdl not in parse_token(entry.data[CONF_TOKEN]).prms:
                errors[CONF_PRODUCTION_PDL] = "pdl_not_in_token"
            else:
                try:
                    meter = ImportOptions(
                        production=bool(user_input[CONF_PRODUCTION]),
                        production_pdl=production_pdl,
                        daily_history_months=int(user_input[CONF_DAILY_HISTORY_MONTHS]),
                        hourly_history_months=int(user_input[CONF_HOURLY_HISTORY_MONTHS]),
                        request_cap=int(user_input[CONF_REQUEST_CAP]),
                        remove_statistics=bool(user_input.get(CONF_REMOVE_STATISTICS)),
                        retention_years=int(user_input.get(CONF_RETENTION_YEARS, 0)),
                    )
                except OptionsError as err:
                    errors[err.field] = err.key
                else:
                    return self._async_save(replace(options, meter=meter))
        meter = options.meter
        suggested = user_input or {
            **meter.as_options(),
            CONF_PRODUCTION_PDL: meter.production_pdl or entry.data[CONF_PDL],
        }
        return self.async_show_form(
            step_id="meter",
            data_schema=self.add_suggested_values_to_schema(METER_SCHEMA, suggested),
            errors=errors,
            description_placeholders={CONF_PDL: entry.data[CONF_PDL]},
        )

    async def async_step_contract(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the contract option and the subscribed power."""
        if user_input is not None:
            self._option = ContractOption(user_input[FIELD_OPTION])
            self._kva = int(user_input[CONF_CONTRACT_KVA])
            return await self.async_step_prices()
        options = self._options
        tariff = options.tariff
        suggested = {
            FIELD_OPTION: (tariff.periods[-1].option if tariff else ContractOption.BASE).value,
            CONF_CONTRACT_KVA: str(options.contract_kva or DEFAULT_KVA),
        }
        return self.async_show_form(
            step_id="contract",
            data_schema=self.add_suggested_values_to_schema(CONTRACT_SCHEMA, suggested),
        )

    async def async_step_prices(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The prices of the bill, pre-filled with the newest public regulated prices; the
        public prices of earlier dates can price the older history."""
        public = public_tariff(self._option, self._kva)
        latest = public.periods[-1] if public else None
        errors: dict[str, str] = {}
        if user_input is not None:
            options = self._options
            try:
                period = read_period(user_input, self._option)
                earlier: list[TariffPeriod] = []
                if public is not None and user_input.get(FIELD_EARLIER_PUBLIC):
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
                old = options.tariff
                tariff = Tariff((*earlier, period), old.buyback if old else ())
            except TariffError as err:
                errors[tariff_error_field(err)] = err.key
            else:
                return self._async_save(replace(options, tariff=tariff, contract_kva=self._kva))
        suggested: dict[str, Any] = user_input or {
            FIELD_START: (latest.start if latest else _today().replace(day=1)).isoformat(),
            FIELD_OFFPEAK: offpeak_text(DEFAULT_OFFPEAK),
            FIELD_EARLIER_PUBLIC: True,
            **(period_suggestion(latest) if latest else {}),
        }
        return self.async_show_form(
            step_id="prices",
            data_schema=self.add_suggested_values_to_schema(
                period_schema(self._option, earlier_public=public is not None), suggested
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
        options = self._options
        tariff = options.tariff
        if tariff is None:
            return await self.async_step_contract()
        last = tariff.periods[-1]
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                period = read_period(user_input, last.option)
                periods = sorted((*tariff.periods, period), key=lambda p: p.start)
                new = Tariff(tuple(periods), tariff.buyback)
            except TariffError as err:
                errors[tariff_error_field(err)] = err.key
            else:
                return self._async_save(replace(options, tariff=new))
        public = public_tariff(last.option, options.contract_kva or DEFAULT_KVA)
        newer = [p for p in public.periods if p.start > last.start] if public else []
        base = (
            replace(last, start=newer[-1].start, prices=newer[-1].prices)
            if newer
            else replace(last, start=_today())
        )
        suggested = user_input or {
            FIELD_START: base.start.isoformat(),
            FIELD_OFFPEAK: offpeak_text(last.offpeak),
            **period_suggestion(base),
        }
        return self.async_show_form(
            step_id="add_period",
            data_schema=self.add_suggested_values_to_schema(
                period_schema(last.option, earlier_public=False), suggested
            ),
            errors=errors,
            description_placeholders={"last_start": last.start.isoformat()},
        )

    async def async_step_buyback(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The price paid for injected energy, from a date on."""
        options = self._options
        tariff = options.tariff
        if tariff is None:
            return await self.async_step_contract()
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                start = read_day(user_input[FIELD_START])
                kept = [p for p in tariff.buyback if p.start != start]
                added = BuybackPeriod(start, decimal_input(user_input[FIELD_PRICE]))
                new = replace(tariff, buyback=tuple(sorted((*kept, added), key=lambda p: p.start)))
            except TariffError as err:
                errors[tariff_error_field(err)] = err.key
            else:
                return self._async_save(replace(options, tariff=new))
        last = tariff.buyback[-1] if tariff.buyback else None
        suggested = user_input or {
            FIELD_START: (last.start if last else tariff.periods[0].start).isoformat(),
            **({FIELD_PRICE: float(last.price)} if last else {}),
        }
        return self.async_show_form(
            step_id="buyback",
            data_schema=self.add_suggested_values_to_schema(BUYBACK_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_remove_period(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Remove one price period (the one before it then applies longer)."""
        options = self._options
        tariff = options.tariff
        if tariff is None or len(tariff.periods) < 2:
            return await self.async_step_init()
        if user_input is not None:
            start = date.fromisoformat(str(user_input[FIELD_PERIOD]))
            new = replace(tariff, periods=tuple(p for p in tariff.periods if p.start != start))
            return self._async_save(replace(options, tariff=new))
        choices = [
            SelectOptionDict(value=p.start.isoformat(), label=describe_period(p))
            for p in tariff.periods
        ]
        schema = vol.Schema(
            {
                vol.Required(FIELD_PERIOD): SelectSelector(
                    SelectSelectorConfig(options=choices, mode=SelectSelectorMode.LIST)
                )
            }
        )
        return self.async_show_form(step_id="remove_period", data_schema=schema)

    async def async_step_clear_tariff(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Forget the contract and prices (the cost statistics are removed)."""
        if user_input is not None:
            return self._async_save(replace(self._options, tariff=None, contract_kva=None))
        return self.async_show_form(step_id="clear_tariff", data_schema=vol.Schema({}))

    async def async_step_tempo_source(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where Tempo day colours come from: the public calendar service, or entities."""
        options = self._options
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                url = read_url(user_input.get(CONF_TEMPO_URL), DEFAULT_TEMPO_URL)
            except OptionsError:
                errors[CONF_TEMPO_URL] = "invalid_url"
            else:
                tempo = TempoSourceOptions(
                    url=url,
                    entity=user_input.get(CONF_TEMPO_ENTITY) or None,
                    tomorrow_entity=user_input.get(CONF_TEMPO_TOMORROW_ENTITY) or None,
                )
                return self._async_save(replace(options, tempo=tempo))
        source = options.tempo
        suggested = user_input or {
            CONF_TEMPO_URL: source.url or DEFAULT_TEMPO_URL,
            CONF_TEMPO_ENTITY: source.entity,
            CONF_TEMPO_TOMORROW_ENTITY: source.tomorrow_entity,
        }
        return self.async_show_form(
            step_id="tempo_source",
            data_schema=self.add_suggested_values_to_schema(TEMPO_SCHEMA, _present(suggested)),
            errors=errors,
            description_placeholders={"default_url": DEFAULT_TEMPO_URL},
        )

    async def async_step_load_shedding(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The peak signals (live power, subscribed power, thresholds, tariff peaks) and an
        optional battery; the loads are added as subentries of the entry."""
        options = self._options
        current = options.shedding or SheddingOptions()
        errors: dict[str, str] = {}
        if user_input is not None:
            on_ratio = float(user_input[CONF_ON_RATIO]) / 100
            off_ratio = float(user_input[CONF_OFF_RATIO]) / 100
            try:
                _check_ratios(on_ratio, off_ratio)
                battery = read_battery(user_input)
                threshold = PowerThreshold(
                    subscribed_kva=float(user_input[CONF_SUBSCRIBED_KVA]),
                    on_ratio=on_ratio,
                    off_ratio=off_ratio,
                    dwell=_seconds(user_input[CONF_DWELL]),
                )
            except OptionsError as err:
                errors[err.field] = err.key
            else:
                shedding = replace(
                    current,
                    power_entity=user_input.get(CONF_POWER_ENTITY) or None,
                    threshold=threshold,
                    peak_buckets=frozenset(
                        Bucket(value) for value in user_input.get(CONF_PEAK_BUCKETS, [])
                    ),
                    batteries=() if battery is None else (battery,),
                )
                return self._async_save(replace(options, shedding=shedding))
        saved = current.threshold
        battery = current.batteries[0] if current.batteries else None
        suggested = user_input or {
            CONF_POWER_ENTITY: current.power_entity,
            CONF_SUBSCRIBED_KVA: saved.subscribed_kva
            if saved
            else options.contract_kva or DEFAULT_KVA,
            CONF_ON_RATIO: round(100 * (saved.on_ratio if saved else DEFAULT_ON_RATIO)),
            CONF_OFF_RATIO: round(100 * (saved.off_ratio if saved else DEFAULT_OFF_RATIO)),
            CONF_DWELL: (saved.dwell if saved else DEFAULT_DWELL).total_seconds(),
            CONF_PEAK_BUCKETS: sorted(b.value for b in current.peak_buckets),
            FIELD_BATTERY: battery.entity_id if battery else None,
            FIELD_DISCHARGE_SCRIPT: battery.discharge.entity_id if battery else None,
            FIELD_CHARGE_SCRIPT: battery.charge.entity_id if battery else None,
        }
        return self.async_show_form(
            step_id="load_shedding",
            data_schema=self.add_suggested_values_to_schema(SHEDDING_SCHEMA, _present(suggested)),
            errors=errors,
        )

    async def async_step_self_consumption(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The PV production energy sensor (empty: no self-consumption figures)."""
        options = self._options
        if user_input is not None:
            pv = user_input.get(CONF_PV_ENTITY) or None
            return self._async_save(replace(options, pv_entity=pv))
        return self.async_show_form(
            step_id="self_consumption",
            data_schema=self.add_suggested_values_to_schema(
                PV_SCHEMA, _present({CONF_PV_ENTITY: options.pv_entity})
            ),
        )

    async def async_step_insights(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Anomalies, limits and the weekly report: on or off, the outdoor temperature and
        holiday sources, the limits, where to tell them, what to mute."""
        options = self._options
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                insights = read_insights(user_input)
            except OptionsError as err:
                errors[err.field] = err.key
            else:
                temperature = user_input.get(CONF_TEMPERATURE_ENTITY) or None
                return self._async_save(
                    replace(options, insights=insights, temperature_entity=temperature)
                )
        suggested = user_input or insights_suggestion(options.insights, options.temperature_entity)
        return self.async_show_form(
            step_id="insights",
            data_schema=self.add_suggested_values_to_schema(INSIGHTS_SCHEMA, _present(suggested)),
            errors=errors,
        )


def _today() -> date:
    return local_date(dt_util.utcnow())


def _seconds(value: Any) -> timedelta:
    return timedelta(seconds=float(value))


def _check_ratios(on_ratio: float, off_ratio: float) -> None:
    """The end threshold of a power peak must be below its start threshold."""
    if not 0 < off_ratio < on_ratio:
        raise OptionsError("off_above_on", CONF_OFF_RATIO)


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """Form suggestions without the empty ones."""
    return {key: value for key, value in values.items() if value is not None}
