"""Every key and constant of the Linky integration (config entry data and options, defaults,
limits, statistic series, repair issues). No Home Assistant import."""

from __future__ import annotations

import logging
from typing import Final

from .conso.client import DEFAULT_BASE_URL as DEFAULT_CONSO_API_URL
from .energy.tempo_calendar import DEFAULT_BASE_URL as DEFAULT_TEMPO_CALENDAR_URL

DOMAIN: Final = "linky"
LOGGER = logging.getLogger(__package__)

# Config entry data (connection: what identifies the meter and authenticates).
CONF_TOKEN: Final = "token"  # noqa: S105  (a config key, not a secret)
CONF_PDL: Final = "pdl"
CONF_BASE_URL: Final = "base_url"
DEFAULT_BASE_URL: Final = DEFAULT_CONSO_API_URL
CONSENT_URL: Final = "https://conso.boris.sh"  # where users get (and renew) their token

# Config entry options (what a user may change later).
CONF_PRODUCTION: Final = "production"
CONF_PRODUCTION_PDL: Final = "production_pdl"
CONF_DAILY_HISTORY_MONTHS: Final = "daily_history_months"
CONF_HOURLY_HISTORY_MONTHS: Final = "hourly_history_months"
CONF_REQUEST_CAP: Final = "request_cap"
CONF_REMOVE_STATISTICS: Final = "remove_statistics"
CONF_RETENTION_YEARS: Final = "retention_years"  # keep the statistics N years (0: for ever)
CONF_TARIFF: Final = "tariff"  # the contract's dated prices (`Tariff.as_dict()`)
CONF_CONTRACT_KVA: Final = "kva"  # the contract's subscribed power
CONF_TEMPO_URL: Final = "tempo_url"
CONF_TEMPO_ENTITY: Final = "tempo_entity"
CONF_TEMPO_TOMORROW_ENTITY: Final = "tempo_tomorrow_entity"
CONF_PV_ENTITY: Final = "pv_entity"
CONF_LOAD_SHEDDING: Final = "load_shedding"  # a section (dict) with the keys below
CONF_POWER_ENTITY: Final = "power_entity"
CONF_SUBSCRIBED_KVA: Final = "subscribed_kva"
CONF_ON_RATIO: Final = "on_ratio"
CONF_OFF_RATIO: Final = "off_ratio"
CONF_DWELL: Final = "dwell"
CONF_PEAK_BUCKETS: Final = "peak_buckets"
CONF_BATTERIES: Final = "batteries"
CONF_STEP_INTERVAL: Final = "step_interval"
CONF_LOADS: Final = "loads"  # 0.1.0 kept the loads in the section; now config subentries
CONF_TEMPERATURE_ENTITY: Final = "temperature_entity"  # outdoor temperature (weather)
CONF_INSIGHTS: Final = "insights"  # a section (dict) with the keys below; absent: off
CONF_HOLIDAY_ENTITY: Final = "holiday_entity"
CONF_DAILY_LIMIT_KWH: Final = "daily_limit_kwh"
CONF_WEEKLY_LIMIT_EUR: Final = "weekly_limit_eur"
CONF_MAX_POWER_SHARE: Final = "max_power_share"
CONF_NOTIFY_ENTITIES: Final = "notify_entities"
CONF_PERSISTENT_NOTIFICATION: Final = "persistent_notification"
CONF_MUTED: Final = "muted"

# Form fields of the options and subentry flows (turned into option values by `flow_forms`).
FIELD_OPTION: Final = "option"
FIELD_START: Final = "start"
FIELD_OFFPEAK: Final = "offpeak"
FIELD_SUBSCRIPTION: Final = "subscription"
FIELD_TAX: Final = "tax"
FIELD_EARLIER_PUBLIC: Final = "earlier_public"
FIELD_PRICE: Final = "price"
FIELD_PERIOD: Final = "period"
FIELD_BATTERY: Final = "battery"
FIELD_DISCHARGE_SCRIPT: Final = "discharge_script"
FIELD_CHARGE_SCRIPT: Final = "charge_script"
FIELD_ENTITY: Final = "entity"
FIELD_MODE: Final = "mode"
FIELD_PRESET: Final = "preset"
FIELD_SETPOINT: Final = "setpoint"
FIELD_MIN_OFF: Final = "min_off"
FIELD_MAX_SHED: Final = "max_shed"

# Config subentries.
SUBENTRY_LOAD: Final = "load"  # one per load to shed, data = `Load.as_dict()`

DEFAULT_TEMPO_URL: Final = DEFAULT_TEMPO_CALENDAR_URL
DEFAULT_DAILY_HISTORY_MONTHS: Final = 36
DEFAULT_HOURLY_HISTORY_MONTHS: Final = 24
MAX_DAILY_HISTORY_MONTHS: Final = 36
MAX_HOURLY_HISTORY_MONTHS: Final = 24
DEFAULT_REQUEST_CAP: Final = 50
# Conso API bans an IP at 100 requests in 12 h: never let a user configure close to that.
MAX_REQUEST_CAP: Final = 80
# Above the reserve the back-fill leaves for daily runs (sync.engine.BACKFILL_RESERVE, 10):
# with a cap at or below it the back-fill could never send.
MIN_REQUEST_CAP: Final = 20
MIN_DAILY_HISTORY_MONTHS: Final = 1
MAX_RETENTION_YEARS: Final = 20
MIN_HOURLY_HISTORY_MONTHS: Final = 0
DEFAULT_MAX_POWER_SHARE: Final = 0.9  # insights: alert above 90 % of the subscribed power
DEFAULT_KVA: Final = 6

# Statistic ids: linky:<pdl>_<series>.
SERIES_CONSUMPTION: Final = "consumption"
SERIES_PRODUCTION: Final = "production"

# Repair issue ids (suffixed with the PDL where per meter).
ISSUE_HOURLY_COLLECTION: Final = "hourly_collection_disabled"
ISSUE_BANNED: Final = "ip_banned"
ISSUE_ADOPT: Final = "adopt_history"
ISSUE_TOO_MANY_METERS: Final = "too_many_meters"
ISSUE_CONSENT_EXPIRING: Final = "consent_expiring"
ISSUE_CONSENT_REVOKED: Final = "consent_revoked"

CONSENT_EXPIRY_WARNING_DAYS: Final = 30
