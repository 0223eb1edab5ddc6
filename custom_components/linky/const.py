"""Constants shared by the Linky integration's Home Assistant modules."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "linky"
LOGGER = logging.getLogger(__package__)

# Config entry data (connection: what identifies the meter and authenticates).
CONF_TOKEN: Final = "token"  # noqa: S105  (a config key, not a secret)
CONF_PDL: Final = "pdl"
CONF_BASE_URL: Final = "base_url"
DEFAULT_BASE_URL: Final = "https://conso.boris.sh/api"

# Config entry options (what a user may change later).
CONF_PRODUCTION: Final = "production"
CONF_PRODUCTION_PDL: Final = "production_pdl"
CONF_DAILY_HISTORY_MONTHS: Final = "daily_history_months"
CONF_HOURLY_HISTORY_MONTHS: Final = "hourly_history_months"
CONF_REQUEST_CAP: Final = "request_cap"
CONF_REMOVE_STATISTICS: Final = "remove_statistics"

DEFAULT_DAILY_HISTORY_MONTHS: Final = 36
DEFAULT_HOURLY_HISTORY_MONTHS: Final = 24
MAX_DAILY_HISTORY_MONTHS: Final = 36
MAX_HOURLY_HISTORY_MONTHS: Final = 24
DEFAULT_REQUEST_CAP: Final = 50
# Conso API bans an IP at 100 requests in 12 h: never let a user configure close to that.
MAX_REQUEST_CAP: Final = 80
MIN_REQUEST_CAP: Final = 10

# Statistic ids: linky:<pdl>_<series>.
SERIES_CONSUMPTION: Final = "consumption"
SERIES_PRODUCTION: Final = "production"

# Repair issue ids (suffixed with the PDL where per meter).
ISSUE_HOURLY_COLLECTION: Final = "hourly_collection_disabled"
ISSUE_BANNED: Final = "ip_banned"
ISSUE_CONSENT_EXPIRING: Final = "consent_expiring"
ISSUE_CONSENT_REVOKED: Final = "consent_revoked"

CONSENT_EXPIRY_WARNING_DAYS: Final = 30
