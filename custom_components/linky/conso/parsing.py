"""Parsers of Conso API / Enedis bodies: measurements and errors. No Home Assistant import.

Accepted measurement shapes:

- V2 ("Mesure synchrone V2", passed through by Conso API): `{"grandeur": [{"points": [...]}]}`
  with points `{"v", "d", "p"}`;
- legacy Conso API (Enedis v5 `meter_reading` unwrapped): `{"interval_reading": [...]}` with
  items `{"value", "date", "interval_length"}`;
- raw Enedis v5: `{"meter_reading": {...legacy...}}`;
- a bare JSON array of `interval_reading` items (v4 fragments).

Timestamps are naive Europe/Paris labels. A load-curve label is the END of its interval.
Repeated labels of the October DST change are resolved by order (fold=1 when the fold=0
instant would not move forward); a label inside the March gap reads as the instant before
the transition (02:00 -> 03:00 CEST). `EnergyInterval.start`/`end` carry the fixed UTC offset
Paris had at that instant (+01:00 or +02:00), so comparing, sorting and subtracting them is
always correct, even inside the repeated hour (with a shared `ZoneInfo`, Python compares and
subtracts wall times and would get the repeated hour wrong). `DailyEnergy.start` and
`MaxPower.at` use `PARIS` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache, lru_cache
import json
import re

from ..localtime import PARIS
from .errors import (
    ConsoApiAuthError,
    ConsoApiBannedError,
    ConsoApiError,
    ConsoApiHistoryLimitError,
    ConsoApiMalformedResponseError,
    ConsoApiNoConsentError,
    ConsoApiNoDataError,
    ConsoApiNotHolderError,
    ConsoApiRateLimitedError,
    ConsoApiRequestError,
    ConsoApiServerError,
)
from .models import DailyEnergy, EnergyInterval, MaxPower

_LEGACY_DEFAULT_STEP = "PT30M"
_STEP_RE = re.compile(r"PT(\d{1,2})M")
_STEPS = {minutes: timedelta(minutes=minutes) for minutes in (5, 10, 15, 20, 30, 60)}
_MESSAGE_MAX = 300
MAX_INTERVAL_WH = 1_000_000.0
"""Above this, a load-curve point is not a reading (1 MWh in one interval: 2 MW for 30 min)."""


class LoadCurve(list[EnergyInterval]):
    """The intervals of a load curve, oldest first, and the points that could not be read
    per local day (`bad_points`): a day with a bad point is never complete."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_points: dict[date, int] = {}


@dataclass(frozen=True, slots=True)
class _Point:
    """One measurement point, whatever the body shape."""

    value: object
    label: object
    step: object  # None when the point has no step
    legacy: bool


# --- measurements -------------------------------------------------------------------------


def parse_load_curve(body: object) -> LoadCurve:
    """Parse a load curve (average W per interval) into energy intervals, oldest first.

    A point that cannot be read (no value, a negative or absurd one, an unknown step, an
    unreadable timestamp, a timestamp that repeats or goes back) is skipped and counted in
    `LoadCurve.bad_points` under its local day when it has one: that day is then not
    complete, whatever the other points say.
    """
    curve = LoadCurve()
    previous_end: datetime | None = None
    for point in _points(body, unit="W"):
        try:
            naive = _naive_label(point.label)
        except ConsoApiMalformedResponseError:
            continue  # no day to blame: the hole it leaves makes its day incomplete
        try:
            interval = _interval(point, naive, previous_end)
        except ConsoApiMalformedResponseError, OverflowError, ValueError:
            day = (naive - timedelta(microseconds=1)).date()  # the label ends the interval
            curve.bad_points[day] = curve.bad_points.get(day, 0) + 1
            continue
        previous_end = interval.end
        curve.append(interval)
    return curve


def _interval(point: _Point, naive: datetime, previous_end: datetime | None) -> EnergyInterval:
    """One load-curve point as an interval ending at its label (raises when unreadable)."""
    watts = _int_value(point.value)
    step_text = point.step
    if step_text is None and point.legacy:
        step_text = _LEGACY_DEFAULT_STEP
    minutes = _step_minutes(step_text)
    step = _STEPS[minutes]
    if (zone := _steady_zone(naive.date())) is not None:
        # No offset change from an hour before this day to its end: a fixed offset.
        end = naive.replace(tzinfo=zone)
        if previous_end is not None and end <= previous_end:
            raise _repeats(naive)
        start = end - step
    else:
        end_utc = _resolve_after(naive, previous_end)
        start, end = _fixed_paris(end_utc - step), _fixed_paris(end_utc)
    wh = watts * minutes / 60
    if not wh <= MAX_INTERVAL_WH:
        raise _malformed(f"value {watts} W at {naive} is not a meter reading")
    return EnergyInterval(start, end, wh)


def parse_daily(body: object) -> list[DailyEnergy]:
    """Parse daily energy (Wh per local calendar day). A day whose point cannot be read, or
    that appears twice, is left out (it is asked again later)."""
    days: dict[date, DailyEnergy | None] = {}
    for point in _points(body, unit="Wh"):
        try:
            day = _naive_label(point.label).date()
        except ConsoApiMalformedResponseError:
            continue
        try:
            wh = _int_value(point.value)
        except ConsoApiMalformedResponseError:
            days[day] = None
            continue
        if day in days:
            days[day] = None  # twice: neither can be trusted
            continue
        days[day] = DailyEnergy(day=day, start=datetime.combine(day, time(), tzinfo=PARIS), wh=wh)
    return [value for value in days.values() if value is not None]


def parse_max_power(body: object) -> list[MaxPower]:
    """Parse daily maximum apparent power (VA) with the local instant it occurred; a point
    that cannot be read, or a day that appears twice, is left out."""
    result: dict[date, MaxPower | None] = {}
    for point in _points(body, unit="VA"):
        try:
            at = _naive_label(point.label).replace(tzinfo=PARIS)
            va = _int_value(point.value)
        except ConsoApiMalformedResponseError:
            continue
        result[at.date()] = None if at.date() in result else MaxPower(day=at.date(), va=va, at=at)
    return [value for value in result.values() if value is not None]


def _points(body: object, *, unit: str) -> list[_Point]:
    """Return the points of any accepted shape, checking the unit when the body states it."""
    if isinstance(body, list):
        return [_legacy_point(item) for item in body]
    if not isinstance(body, Mapping):
        raise _malformed(f"expected a JSON object or array, got {type(body).__name__}")
    if "meter_reading" in body:
        return _points(body["meter_reading"], unit=unit)
    if "grandeur" in body:
        grandeurs = body["grandeur"]
        if not isinstance(grandeurs, list):
            raise _malformed("'grandeur' is not a list")
        if not grandeurs:
            return []
        if len(grandeurs) != 1 or not isinstance(grandeurs[0], Mapping):
            raise _malformed(f"expected exactly one 'grandeur', got {len(grandeurs)}")
        grandeur = grandeurs[0]
        _check_unit(grandeur.get("unite"), unit)
        points = grandeur.get("points")
        if not isinstance(points, list):
            raise _malformed("'points' is missing or not a list")
        return [_v2_point(item) for item in points]
    if "interval_reading" in body:
        reading_type = body.get("reading_type")
        if isinstance(reading_type, Mapping):
            _check_unit(reading_type.get("unit"), unit)
        readings = body["interval_reading"]
        if not isinstance(readings, list):
            raise _malformed("'interval_reading' is not a list")
        return [_legacy_point(item) for item in readings]
    raise _malformed("no 'grandeur', 'interval_reading' or 'meter_reading' in the body")


def _check_unit(found: object, expected: str) -> None:
    if found is not None and found != expected:
        raise _malformed(f"unit is {found!r}, expected {expected!r}")


def _v2_point(item: object) -> _Point:
    if not isinstance(item, Mapping):
        raise _malformed("a point is not an object")
    return _Point(item.get("v"), item.get("d"), item.get("p"), False)


def _legacy_point(item: object) -> _Point:
    if not isinstance(item, Mapping):
        raise _malformed("an interval_reading item is not an object")
    return _Point(item.get("value"), item.get("date"), item.get("interval_length"), True)


def _int_value(value: object) -> int:
    """Parse a value: a string of digits (an int is accepted too)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    raise _malformed(f"unparseable value {value!r}")


def _step_minutes(step: object) -> int:
    if isinstance(step, str):
        return _text_step_minutes(step)
    raise _malformed(f"unsupported interval length {step!r}")


@lru_cache(maxsize=64)
def _text_step_minutes(step: str) -> int:
    """The minutes of an ISO 8601 step such as `PT30M` (only the lengths Enedis uses)."""
    if (match := _STEP_RE.fullmatch(step)) and (minutes := int(match.group(1))) in _STEPS:
        return minutes
    raise _malformed(f"unsupported interval length {step!r}")


def _naive_label(label: object) -> datetime:
    """Parse a naive local label (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`)."""
    if not isinstance(label, str):
        raise _malformed(f"timestamp {label!r} is not a string")
    try:
        parsed = datetime.fromisoformat(label)
    except ValueError:
        raise _malformed(f"unparseable timestamp {label!r}") from None
    if parsed.tzinfo is not None:
        raise _malformed(f"timestamp {label!r} has an offset; expected a local label")
    return parsed


def _resolve_after(naive: datetime, previous: datetime | None) -> datetime:
    """Resolve a Paris label to a UTC instant strictly after `previous` (None at start).

    The fold=0 instant is used (in the spring gap that is the pre-transition reading, so
    02:00 becomes 03:00 CEST); when it does not move past the previous point, the label is
    the second occurrence of a repeated autumn time and fold=1 is used. A label that still
    does not move forward is a duplicate (or out of order): an error, never skipped.
    """
    instant = naive.replace(tzinfo=PARIS).astimezone(UTC)
    if previous is not None and instant <= previous:
        instant = naive.replace(tzinfo=PARIS, fold=1).astimezone(UTC)
        if instant <= previous:
            raise _repeats(naive)
    return instant


def _fixed_paris(instant: datetime) -> datetime:
    """The Paris wall time of an instant, with Paris's UTC offset at that instant as tzinfo."""
    local = instant.astimezone(PARIS)
    offset = local.utcoffset()
    assert offset is not None  # PARIS always has an offset
    return local.replace(tzinfo=_fixed_zone(offset), fold=0)


@lru_cache(maxsize=4096)
def _steady_zone(day: date) -> timezone | None:
    """Paris's offset as a fixed zone when it holds from 23:00 the day before to the end of
    `day` (every interval ending on `day` then lies in it); None on an offset change day.

    Paris changes its offset at most once a day (at night, never twice within 25 hours), so
    comparing the offsets at both ends of that span is enough.
    """
    if not date.min < day < date.max:
        return None  # no day before or after it: the general path handles it
    before = datetime.combine(day - timedelta(days=1), time(23), PARIS).utcoffset()
    after = datetime.combine(day + timedelta(days=1), time(), PARIS).utcoffset()
    assert before is not None  # PARIS always has an offset
    return _fixed_zone(before) if before == after else None


@cache
def _fixed_zone(offset: timedelta) -> timezone:
    """One shared fixed-offset zone per UTC offset."""
    return timezone(offset)


def _repeats(naive: datetime) -> ConsoApiMalformedResponseError:
    return _malformed(f"timestamp {naive} repeats or goes back in time")


def _malformed(detail: str) -> ConsoApiMalformedResponseError:
    return ConsoApiMalformedResponseError(f"Malformed measurement response: {detail}")


# --- errors -------------------------------------------------------------------------------

_HISTORY_CODES = frozenset({"ADAM-ERR0123", "ADAM-ERR0125", "ADAM-DC-0016"})
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_NEXT_ACCESS_RE = re.compile(
    r"\s*(\d{4})-([A-Za-z]{3})-(\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})\s*([+-]\d{4})?\s*(?:UTC)?\s*"
)
_HTML_TITLE_RE = re.compile(r"<title>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class _ErrorInfo:
    """What an error body says, whatever its shape."""

    code: str | None
    message: str
    next_access: str | None = None


def parse_error(
    status: int, body: str, content_type: str | None, *, secret: str | None = None
) -> ConsoApiError:
    """Map an HTTP error answer (or a non-JSON 2xx) to the client's error taxonomy.

    `secret` (the token) is removed from the message should the server ever echo it.
    """
    try:
        document: object = json.loads(body)
    except ValueError:
        is_json = False
        info = _ErrorInfo(code=None, message=_describe_text(body, content_type))
    else:
        is_json = True
        info = _describe(document) or _ErrorInfo(code=None, message=f"HTTP {status}")
    message = info.message
    if secret:
        message = message.replace(secret, "***")
    message = message[:_MESSAGE_MAX]
    code = info.code

    if 200 <= status < 300:
        return ConsoApiMalformedResponseError(
            f"Response is not a JSON measurement document: {message}", status=status, code=code
        )
    if not is_json and status == 403:
        return ConsoApiBannedError(
            f"Blocked by the service's firewall (HTTP 403 page: {message})",
            status=status,
            code=code,
        )
    if code == "ADAM-DC-0008":
        return ConsoApiNoConsentError(message, status=status, code=code)
    if code == "ADAM-DC-0007":
        return ConsoApiNotHolderError(message, status=status, code=code)
    if code in _HISTORY_CODES:
        return ConsoApiHistoryLimitError(message, status=status, code=code)
    if status == 429:
        return ConsoApiRateLimitedError(
            message, status=status, code=code, retry_at=parse_next_access_time(info.next_access)
        )
    if status == 401:
        return ConsoApiAuthError(message, status=status, code=code)
    if code == "no_data_found" or (status == 404 and is_json):
        return ConsoApiNoDataError(message, status=status, code=code)
    if status >= 500:
        return ConsoApiServerError(message, status=status, code=code)
    return ConsoApiRequestError(message, status=status, code=code)


def _describe(document: object) -> _ErrorInfo | None:
    """Extract code, message and nextAccessTime from any known JSON error shape.

    The innermost description wins: Conso API's wrapper `{status, message, error}` around an
    Enedis body `{error, error_description}`, a gateway body `{code, message, description,
    nextAccessTime}` or `{fault: {...}}`, a plain string, or a problem document
    `{title, detail, error_name}`.
    """
    if isinstance(document, str):
        return _ErrorInfo(code=None, message=document)
    if not isinstance(document, Mapping):
        return None
    inner = document.get("error")
    if isinstance(inner, str):
        if isinstance(description := document.get("error_description"), str):
            return _ErrorInfo(code=inner, message=description)  # raw Enedis {error, ...}
        outer = _text(document.get("message"))
        return _ErrorInfo(code=None, message=f"{outer}: {inner}" if outer else inner)
    if isinstance(inner, Mapping) and (found := _describe(inner)) is not None:
        return found
    if isinstance(fault := document.get("fault"), Mapping):
        return _describe(fault)
    if "code" in document:
        texts = [_text(document.get("message")), _text(document.get("description"))]
        next_access = document.get("nextAccessTime")
        return _ErrorInfo(
            code=_text(document.get("code")) or None,
            message=": ".join(text for text in texts if text) or "no message",
            next_access=next_access if isinstance(next_access, str) else None,
        )
    if "error_name" in document or "title" in document:
        texts = [_text(document.get("title")), _text(document.get("detail"))]
        return _ErrorInfo(
            code=_text(document.get("error_name")) or None,
            message=": ".join(text for text in texts if text) or "no message",
        )
    if message := _text(document.get("message")):
        return _ErrorInfo(code=None, message=message)
    return None


def _text(value: object) -> str:
    """A JSON scalar as stripped text ('' for anything else)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _describe_text(body: str, content_type: str | None) -> str:
    """A short description of a non-JSON body (the HTML title when there is one)."""
    if match := _HTML_TITLE_RE.search(body):
        return " ".join(match.group(1).split())
    snippet = " ".join(body.split())[:120]
    return snippet or f"empty {content_type or 'untyped'} body"


def parse_next_access_time(text: str | None) -> datetime | None:
    """Parse a gateway `nextAccessTime` such as `2026-Jul-17 05:00:00+0000 UTC` (aware UTC).

    Months are read from an English table, not the C locale. ISO 8601 is accepted too.
    Returns None when absent or unparseable.
    """
    if not text:
        return None
    if match := _NEXT_ACCESS_RE.fullmatch(text):
        year, month_name, day, hour, minute, second, offset = match.groups()
        month = _MONTHS.get(month_name.lower())
        if month is None:
            return None
        tz = UTC
        if offset:
            sign = -1 if offset[0] == "-" else 1
            tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        try:
            moment = datetime(
                int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=tz
            )
        except ValueError:
            return None
        return moment.astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
