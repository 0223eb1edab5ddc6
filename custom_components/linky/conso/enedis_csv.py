"""Reader of the CSV exports of the Enedis customer area and of look-alikes. No HA import.

Formats, as learned from public sources (no code taken from them):

- Enedis "Mes données": a row of metadata names `Identifiant PRM;Type de donnees;Date de
  debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite[;Pas en minutes]`
  over its values, maybe a blank line, then `Horodate;Valeur` with offset labels
  (`2020-08-20T23:50:00+02:00`): W for "Courbe de charge", Wh for daily types, an empty
  value for "no data", maybe a UTF-8 BOM. Sources: l-etabli/quoalise `formalisme/enedis.md`
  (its 10-minute sample runs 00:00 to 23:50: START labels); bokub/ha-linky `src/history.ts`
  at fea2787 (PRM from the metadata, `Horodate`/`Valeur` from line 3, read as END labels);
  a file-type detector found by code search (no repository named) listing the BOM header
  and a Windows-1252 `Date de la mesure;Heure de la mesure;Valeur;...;Unité` variant.
- One table: `Identifiant PRM;Date de début;...;Unité;Horodate;Valeur;Nature;Pas;...`, the
  metadata on every row, naive labels, `Pas` as `PT30M` (a README "Format des Fichiers"
  found by code search, no repository named).
- "Conso Downloader" (bokub/conso-downloader `downloader.js`; read by bokub/ha-linky
  `src/history.ts` and `src/format.ts` since 1.6.0; also GaboFlo/Comparateur-et-simulateur-
  de-tarifs-d-electricite `src/services/csvParser.test.ts`): `debut;fin;kW`, naive minutes,
  average kW with a decimal comma in quotes (`2023-12-12T00:00;2023-12-12T00:30;"0,696"`),
  file `historique_(conso|prod)_<prm>_<date>.csv`. Rows are sorted by `new Date(debut)`, for
  which both October `02:00` labels are one instant: they come as 02:00, 02:00, 02:30, 02:30.

A load-curve label ends its interval (the Enedis API convention) unless the caller, the header
(`debut`, "... fin de pas") or the file's bounds (`_guess_stamp`) say otherwise. Naive labels
are Paris wall times: a label of the repeated October hour is its first occurrence the first
time it is met (oldest first: a newest-first file is reversed), its second one after that; a
label inside the March gap is the instant before the change (02:00 is 03:00 CEST).
"""

from __future__ import annotations

from collections import Counter
import csv
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
import math
from pathlib import PurePath
import re
import unicodedata

from ..energy.hourly import complete_day_hours, local_day_bounds, split_by_local_day
from ..energy.ledger import DayData
from ..localtime import PARIS, local_date
from .models import EnergyInterval
from .parsing import MAX_INTERVAL_WH

_STEPS = (5, 10, 15, 20, 30, 60)
_DAY = 1440  # minutes
_MAX_PREAMBLE = 30  # the data header must come within this many lines
_UNITS = {"w": (True, 1.0), "kw": (True, 1e3), "wh": (False, 1.0), "kwh": (False, 1e3)}
"""Unit -> (is an average power, factor to W or Wh)."""
_UNIT_IN_NAME = re.compile(r"(?:^|[\s(])(k?wh?|k?va)\)?$")  # "valeur (en wh)", "kw", "w"
_PRM = re.compile(r"(?<!\d)\d{14}(?!\d)")
_FILE_KIND = re.compile(r"historique_(conso|prod)_", re.IGNORECASE)
_FRENCH_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_PAS = re.compile(r"(?:pt)?(\d{1,2})m?")
_META_KEYS = (  # normalised metadata names -> role
    dict.fromkeys(("identifiant prm", "prm", "point reference mesure (prm)"), "prm")
    | dict.fromkeys(("type de donnees", "type de comptage"), "type")
    | {"grandeur metier": "kind", "unite": "unit", "pas en minutes": "step", "pas": "step"}
)
_BLOCK_STARTS = frozenset({"identifiant prm", "periode", "horodate"})
_MISSING = frozenset({"", "null", "na", "n/a", "-"})


class EnedisCsvError(ValueError):
    """The file is not a recognisable export, or it holds something other than energy.
    `reason`: not_export, max_power, unknown_unit, unknown_step or daily_power (the message
    says more; `detail`: what the file showed, if anything)."""

    def __init__(self, reason: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


class ExportKind(StrEnum):
    """What the export measures."""

    CONSUMPTION = "consumption"
    PRODUCTION = "production"


class Stamp(StrEnum):
    """Which end of its interval a load-curve timestamp labels."""

    START = "start"
    END = "end"


@dataclass(frozen=True, slots=True)
class Problem:
    """A line that was not used, or not fully: its 1-based number and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedExport:
    """What an export holds.

    `days`: the complete local days, oldest first: HOURLY for a load curve, DAILY for daily
    values. `incomplete_days`: days the file touches without covering them fully (a hole, a
    bad or conflicting line, a partial first or last day). `stamp` and `step_minutes`: how a
    load curve was read (None for daily values).
    """

    prm: str | None
    kind: ExportKind | None
    days: list[DayData]
    incomplete_days: list[date]
    problems: list[Problem]
    stamp: Stamp | None
    step_minutes: int | None
    encoding: str


@dataclass(frozen=True, slots=True)
class _Columns:
    """Column indexes of the data rows, and what the data header says."""

    ts: int
    value: int
    end: int | None  # "fin" (Conso Downloader)
    time: int | None  # a separate hour column
    extra: dict[str, int]  # metadata repeated on every row: prm, type, kind, unit, step
    unit: str | None  # from the value column's name
    stamp: Stamp | None  # from the timestamp column's name


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    label: datetime  # naive Paris wall time, or aware
    fin: datetime | None
    has_time: bool
    value: float | None  # None: no value, or an unusable one (then `error` says why)
    error: str | None
    step: int | None


def parse_enedis_csv(
    data: bytes, filename: str = "", *, stamp: Stamp | None = None
) -> ParsedExport:
    """Read an export; raise `EnedisCsvError` when `data` is not one or holds no energy.

    `filename` may name the PRM and the kind; the file's own metadata wins over it. `stamp`
    forces how load-curve labels are read (None: from the header, else the file's bounds).
    """
    text, encoding = _decode(data)
    lines = re.split(r"\r\n|\r|\n", text)
    cut = lines[-1] != ""  # no line break at the end: the last line may be cut short
    if not cut:
        lines.pop()
    header = _find_header(lines)
    if header is None:
        raise EnedisCsvError(
            "not_export",
            "not an Enedis export: no data header such as 'Horodate;Valeur' or "
            f"'debut;fin;kW' in its first {_MAX_PREAMBLE} lines",
        )
    index, sep, cols = header
    meta = _metadata([(n + 1, _cells(lines[n], sep)) for n in range(index) if lines[n].strip()])
    problems: list[Problem] = []
    rows: list[_Row] = []
    for n in range(index + 1, len(lines)):
        if not lines[n].strip(" ;,\t"):
            continue
        cells, line = _cells(lines[n], sep), n + 1
        if _norm(cells[0]) in _BLOCK_STARTS:
            problems.append(Problem(line, "another data block starts here: only the first is read"))
            break
        truncated = cut and n == len(lines) - 1
        try:
            row = _read_row(line, lines[n], cells, cols)
        except ValueError as err:  # no usable timestamp
            problems.append(Problem(line, "line cut short" if truncated else str(err)))
            continue
        if truncated and row.value is None:
            row = replace(row, error="line cut short")
        if row.error:
            problems.append(Problem(line, row.error))
        if not rows:  # one-table exports: the metadata is on every row
            for role, column in cols.extra.items():
                if cells[column:] and cells[column]:
                    meta.setdefault(role, (line, cells[column]))
        rows.append(row)
    prm, kind = _identity(meta, filename, problems)
    type_text = _norm(meta.get("type", (0, ""))[1])
    unit = cols.unit or _unit(_norm(meta.get("unit", (0, ""))[1]))
    if "puissance max" in type_text or (unit or "").endswith("va"):
        raise EnedisCsvError("max_power", "this export holds maximum powers, not energy")
    if unit is None or unit not in _UNITS:
        raise EnedisCsvError(
            "unknown_unit", "the unit of the values is unknown (no 'Unite', none in the header)"
        )
    walls = sorted({_wall(row.label) for row in rows})
    gaps = Counter(int((b - a).total_seconds()) // 60 for a, b in pairwise(walls))
    step = _pas(meta.get("step", (0, ""))[1]) or max(gaps, key=gaps.__getitem__, default=None)
    if "quotidien" in type_text or any(not r.has_time for r in rows) or (step or 0) >= _DAY:
        step = None
    elif step not in _STEPS and rows:
        raise EnedisCsvError(
            "unknown_step",
            f"cannot tell the interval length (no 'Pas', gaps of {step} min)",
            "?" if step is None else str(step),
        )
    stamp = None if step is None else stamp or cols.stamp or _guess_stamp(walls, step)
    days, incomplete = _days(rows, unit, step, stamp or Stamp.END, problems)
    problems.sort(key=lambda problem: problem.line)
    return ParsedExport(prm, kind, days, incomplete, problems, stamp, step, encoding)


# --- text, header and metadata ----------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else Windows-1252, else Latin-1 (which always decodes)."""
    bom = data.startswith(b"\xef\xbb\xbf")
    body, name = (data[3:], "utf-8-sig") if bom else (data, "utf-8")
    try:
        return body.decode("utf-8"), name
    except UnicodeDecodeError as err:
        if err.reason == "unexpected end of data":  # cut inside its last character
            return body[: err.start].decode("utf-8"), name
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _cells(line: str, sep: str) -> list[str]:
    """One physical line as stripped cells, quotes removed (at least one cell)."""
    return [cell.strip() for cell in next(csv.reader([line], delimiter=sep), [])] or [""]


def _norm(cell: str) -> str:
    """Lower case, no accents, single spaces, no trailing colon: 'Unité :' -> 'unite'."""
    text = unicodedata.normalize("NFKD", cell).encode("ascii", "ignore").decode()
    return " ".join(text.lower().split()).rstrip(" :")


def _unit(name: str) -> str | None:
    return match.group(1) if (match := _UNIT_IN_NAME.search(name)) else None


def _find_header(lines: list[str]) -> tuple[int, str, _Columns] | None:
    """The data header: its index, separator and columns."""
    for index, line in enumerate(lines[:_MAX_PREAMBLE]):
        for sep in (";", ",", "\t"):
            if sep in line and (cols := _columns([_norm(c) for c in _cells(line, sep)])):
                return index, sep, cols
    return None


def _columns(names: list[str]) -> _Columns | None:
    """The columns of a data header; None when `names` is not one."""
    roles: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in ("debut", "date", "date de la mesure") or name.startswith("horodate"):
            role = "ts"
        elif name in ("fin", "heure", "heure de la mesure"):
            role = "end" if name == "fin" else "time"
        elif name.startswith(("valeur", "puissance", "consommation")) or name in _UNITS:
            role = "value"
        else:
            role = _META_KEYS.get(name, "")
        if role:
            roles.setdefault(role, index)
    if "ts" not in roles or "value" not in roles:
        return None
    words = names[roles["ts"]].split()  # "debut", "horodate iso fin de pas", ...
    return _Columns(
        ts=roles["ts"],
        value=roles["value"],
        end=roles.get("end"),
        time=roles.get("time"),
        extra={role: i for role, i in roles.items() if role in _META_KEYS.values()},
        unit=_unit(names[roles["value"]]),
        stamp=Stamp.START if "debut" in words else Stamp.END if "fin" in words else None,
    )


def _metadata(rows: list[tuple[int, list[str]]]) -> dict[str, tuple[int, str]]:
    """Role -> (line, value) from the non-blank lines before the data header, where a row of
    names (`Identifiant PRM;Type de donnees;...`) is over its values (`0000...;Courbe...`)."""
    meta: dict[str, tuple[int, str]] = {}
    for (_, names), (line, values) in pairwise(rows):
        for name, value in zip(names, values, strict=False):
            if role := _META_KEYS.get(_norm(name)):
                meta.setdefault(role, (line, value))
    return meta


def _identity(
    meta: dict[str, tuple[int, str]], filename: str, problems: list[Problem]
) -> tuple[str | None, ExportKind | None]:
    """PRM and kind from the file's metadata, else from its name (a PRM disagreement is
    reported: the file wins)."""
    name = PurePath(filename).name
    prm = named[0] if (named := _PRM.findall(name)) else None
    if "prm" in meta:
        line, text = meta["prm"]
        if not re.fullmatch(r"\d{14}", text):  # e.g. "1,91257596E+13" after a spreadsheet
            problems.append(Problem(line, f"PRM {text!r} is not 14 digits"))
        else:
            if prm not in (None, text):
                problems.append(Problem(line, f"the file name says PRM {prm}, the file {text}"))
            prm = text
    text = " ".join(_norm(meta[role][1]) for role in ("kind", "type") if role in meta)
    if "prod" in text or "injection" in text:
        return prm, ExportKind.PRODUCTION
    if "cons" in text or "soutirage" in text:
        return prm, ExportKind.CONSUMPTION
    if match := _FILE_KIND.search(name):
        prod = match.group(1).lower() == "prod"
        return prm, ExportKind.PRODUCTION if prod else ExportKind.CONSUMPTION
    return prm, None


# --- rows -------------------------------------------------------------------------------------


def _read_row(line: int, raw: str, cells: list[str], cols: _Columns) -> _Row:
    """One data row; raise ValueError when it has no usable timestamp."""
    if raw.count('"') % 2:
        raise ValueError("unbalanced quotes")
    needed = max(i for i in (cols.ts, cols.value, cols.end, cols.time) if i is not None) + 1
    if len(cells) < needed:
        raise ValueError(f"{len(cells)} columns, {needed} expected")
    text = cells[cols.ts] if cols.time is None else f"{cells[cols.ts]} {cells[cols.time]}"
    label, has_time = _label(text)
    fin = None if cols.end is None else _label(cells[cols.end])[0]
    value, error = _value(cells[cols.value])
    step = None
    if (column := cols.extra.get("step")) is not None and cells[column:] and cells[column]:
        step = _pas(cells[column])
        if step is None:
            value, error = None, f"unsupported interval length {cells[column]!r}"
    return _Row(line, label, fin, has_time, value, error, step)


def _label(text: str) -> tuple[datetime, bool]:
    """A timestamp (ISO with or without offset, or `dd/mm/yyyy[ HH:MM[:SS]]`) and whether it
    has a time of day."""
    try:
        if match := _FRENCH_DATE.fullmatch(text):
            day, month, year, hour, minute, second = (int(g or 0) for g in match.groups())
            moment = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 (wall time)
            return moment, match.group(4) is not None
        return datetime.fromisoformat(text), len(text) > 10
    except ValueError:
        raise ValueError(f"unreadable timestamp {text!r}") from None


def _value(text: str) -> tuple[float | None, str | None]:
    """A reading and, when it is unusable, why; (None, None) when there is none."""
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
    if cleaned.lower() in _MISSING:
        return None, None
    try:
        value = float(cleaned)
    except ValueError:
        return None, f"unreadable value {text!r}"
    if not math.isfinite(value) or value < 0:
        return None, f"value {text!r} is negative or not a number"
    return value, None


def _pas(text: str) -> int | None:
    """Minutes of a `Pas` such as `PT30M` or `30`; None when empty or not an Enedis step."""
    match = _PAS.fullmatch(_norm(text))
    return int(match.group(1)) if match and int(match.group(1)) in _STEPS else None


def _wall(label: datetime) -> datetime:
    """The naive Paris wall time of a label."""
    return label.astimezone(PARIS).replace(tzinfo=None) if label.tzinfo else label


def _guess_stamp(walls: list[datetime], step: int) -> Stamp:
    """START when the file's bounds (its sorted wall times) say so: it begins at a local
    midnight or ends one step before one, and does not also begin one step after, or end
    at, a midnight (which say END)."""
    if not walls:
        return Stamp.END
    first, last = walls[0].time(), walls[-1].time()
    midnight = datetime(2000, 1, 2)  # noqa: DTZ001 (any day: only its times are used)
    after, before = midnight + timedelta(minutes=step), midnight - timedelta(minutes=step)
    says_start = first == midnight.time() or last == before.time()
    says_end = first == after.time() or last == midnight.time()
    return Stamp.START if says_start and not says_end else Stamp.END


def _resolve(label: datetime, seen: Counter[datetime]) -> datetime:
    """The UTC instant of a label (see the module docstring for the October hour)."""
    if label.tzinfo is not None:
        return label.astimezone(UTC)
    first = label.replace(tzinfo=PARIS).astimezone(UTC)
    second = label.replace(tzinfo=PARIS, fold=1).astimezone(UTC)
    if first == second or _wall(first) != label:  # unambiguous, or inside the March gap
        return first
    seen[label] += 1
    return first if seen[label] == 1 else second


# --- days -------------------------------------------------------------------------------------


def _days(
    rows: list[_Row], unit: str, step: int | None, stamp: Stamp, problems: list[Problem]
) -> tuple[list[DayData], list[date]]:
    """Complete and incomplete days: DAILY from one value per local day (`step` None),
    else HOURLY from load-curve intervals, complete when they tile the day exactly."""
    power, factor = _UNITS[unit]
    if step is None and power and rows:
        raise EnedisCsvError("daily_power", "daily values in W: an average power, not an energy")
    walls = [_wall(row.label) for row in rows]
    if sum(b < a for a, b in pairwise(walls)) > sum(b > a for a, b in pairwise(walls)):
        rows = rows[::-1]  # newest first: read oldest first, for the October hour
    seen: Counter[datetime] = Counter()
    found: dict[datetime, tuple[int, float, datetime]] = {}  # UTC start -> (line, Wh, UTC end)
    spoiled: set[date] = set()
    touched: set[date] = set()
    for row in rows:
        if step is None:  # a day total, labelled with its day
            day = local_date(row.label) if row.label.tzinfo else row.label.date()
            (start, end), minutes = local_day_bounds(day), 0
        else:
            minutes = row.step or step
            if row.fin is not None:  # both ends given: their wall-time gap holds away from DST
                gap = int((_wall(row.fin) - _wall(row.label)).total_seconds()) // 60
                minutes = gap if gap in _STEPS else minutes
            start = _resolve(row.label, seen)
            if row.fin is None and stamp is Stamp.END:
                start -= timedelta(minutes=minutes)
            end, day = start + timedelta(minutes=minutes), local_date(start)
        touched.add(day)
        wh = (row.value or 0.0) * factor * (minutes / 60 if power else 1)
        if row.error:
            spoiled.add(day)
        elif row.value is None:
            continue  # no data: a hole
        elif step is not None and wh > MAX_INTERVAL_WH:
            problems.append(Problem(row.line, f"{wh:.0f} Wh in one interval is no reading"))
            spoiled.add(day)
        elif (previous := found.setdefault(start, (row.line, wh, end)))[1:] != (wh, end):
            # a duplicate with another value: which one is right is unknown
            problems.append(Problem(row.line, f"conflicts with line {previous[0]}"))
            spoiled.add(day)
    if step is None:
        days = [DayData.daily(local_date(s), wh) for s, (_, wh, _) in sorted(found.items())]
    else:
        by_day = split_by_local_day(
            EnergyInterval(start.astimezone(PARIS), end.astimezone(PARIS), wh)
            for start, (_, wh, end) in found.items()
        )
        hours = {day: complete_day_hours(day, intervals) for day, intervals in by_day.items()}
        days = [DayData.hourly(day, h) for day, h in sorted(hours.items()) if h is not None]
    days = [data for data in days if data.day not in spoiled]
    return days, sorted(touched - {data.day for data in days})
