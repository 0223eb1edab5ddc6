"""Enedis CSV exports: formats, DST days, encodings, separators, bad and duplicated lines.

The fixtures (tests/fixtures/enedis_csv, see its README) are small synthetic files in the
shapes of real exports. Their load-curve values grow by a fixed step per interval, so the
energy of every UTC hour is known: half-hour k of a day holds `base + step * k` W, and hour h
(two half-hours of 30 min) holds `base + step * (2h + 0.5)` Wh.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.linky.conso.enedis_csv import (
    EnedisCsvError,
    ExportKind,
    ParsedExport,
    Problem,
    Stamp,
    parse_enedis_csv,
)
from custom_components.linky.energy.ledger import DayData, Resolution
from custom_components.linky.localtime import PARIS

FIXTURES = Path(__file__).parents[2] / "fixtures" / "enedis_csv"
PRM = "12345678901234"
META = (
    "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;"
    "Grandeur metier;Etape metier;Unite;Pas en minutes\n"
    f"{PRM};Courbe de charge;01/01/2025;01/01/2026;Energie active;Consommation;"
    "Comptage Brut;W;30\n\nHorodate;Valeur\n"
)


def _parse(name: str, filename: str | None = None) -> ParsedExport:
    return parse_enedis_csv((FIXTURES / name).read_bytes(), filename or name)


def _only_day(result: ParsedExport, day: date) -> DayData:
    [found] = [data for data in result.days if data.day == day]
    return found


def _utc_hours(first: datetime, count: int) -> list[datetime]:
    return [first + timedelta(hours=h) for h in range(count)]


def _half_hour_ends(day: date) -> list[datetime]:
    """The real instants ending the half-hours of a local day (46, 48 or 50 of them)."""
    start = datetime.combine(day, datetime.min.time(), PARIS).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS).astimezone(UTC)
    return [
        start + timedelta(minutes=30 * k)
        for k in range(1, (end - start) // timedelta(minutes=30) + 1)
    ]


# --- DST days ---------------------------------------------------------------------------------


def test_march_change_day_has_23_utc_hours_each_with_its_energy() -> None:
    """Enedis "Mes données" curve with offset labels (END of interval): 46 half-hours."""
    result = _parse("mes_donnees_courbe_mars.csv")

    day = _only_day(result, date(2025, 3, 30))
    assert day.resolution is Resolution.HOURLY
    assert list(day.hours) == _utc_hours(datetime(2025, 3, 29, 23, tzinfo=UTC), 23)
    assert list(day.hours.values()) == [1005 + 20 * h for h in range(23)]
    # Local 01:00-02:00 CET is 00:00Z; the next hour is local 03:00-04:00 CEST, 01:00Z.
    assert day.hours[datetime(2025, 3, 30, 0, tzinfo=UTC)] == (1020 + 1030) / 2
    assert day.hours[datetime(2025, 3, 30, 1, tzinfo=UTC)] == (1040 + 1050) / 2
    assert (result.stamp, result.step_minutes) == (Stamp.END, 30)


def test_october_change_day_has_25_utc_hours_resolved_by_order() -> None:
    """Conso Downloader file: naive starts, the repeated 02:00 and 02:30 labels twice each,
    in the order `new Date(debut)` sorts them (02:00, 02:00, 02:30, 02:30)."""
    result = _parse(f"historique_conso_{PRM}_2025-10-27.csv")

    day = _only_day(result, date(2025, 10, 26))
    assert list(day.hours) == _utc_hours(datetime(2025, 10, 25, 22, tzinfo=UTC), 25)
    assert list(day.hours.values()) == pytest.approx([1505 + 20 * h for h in range(25)])
    # The two local 02:00-03:00 hours: CEST (00:00Z) then CET (01:00Z).
    assert day.hours[datetime(2025, 10, 26, 0, tzinfo=UTC)] == pytest.approx((1540 + 1550) / 2)
    assert day.hours[datetime(2025, 10, 26, 1, tzinfo=UTC)] == pytest.approx((1560 + 1570) / 2)
    assert (result.stamp, result.step_minutes, result.incomplete_days) == (Stamp.START, 30, [])


def test_newest_first_file_with_naive_end_labels_reads_the_october_hour_in_order() -> None:
    ends = _half_hour_ends(date(2025, 10, 26))
    assert len(ends) == 50
    lines = [
        f"{end.astimezone(PARIS):%Y-%m-%d %H:%M:%S};{1000 + 10 * k}" for k, end in enumerate(ends)
    ]
    result = parse_enedis_csv((META + "\n".join(reversed(lines)) + "\n").encode(), "export.csv")

    day = _only_day(result, date(2025, 10, 26))
    assert list(day.hours) == _utc_hours(datetime(2025, 10, 25, 22, tzinfo=UTC), 25)
    assert list(day.hours.values()) == [1005 + 20 * h for h in range(25)]
    assert result.problems == []


# --- other shapes -----------------------------------------------------------------------------


def test_daily_file_gives_daily_days_and_a_day_without_value_is_incomplete() -> None:
    result = _parse("mes_donnees_quotidien.csv")

    assert [(d.day, d.resolution, d.total_wh) for d in result.days] == [
        (date(2025, 10, 25), Resolution.DAILY, 8123),
        (date(2025, 10, 26), Resolution.DAILY, 9456),
        (date(2025, 10, 28), Resolution.DAILY, 7001),
    ]
    assert result.days[1] == DayData.daily(date(2025, 10, 26), 9456)
    assert result.incomplete_days == [date(2025, 10, 27)]
    assert result.problems == []  # an empty value is "no data", not a bad line
    assert (result.stamp, result.step_minutes) == (None, None)


def test_start_labels_are_detected_from_the_file_bounds_and_can_be_forced() -> None:
    starts = [datetime(2025, 1, 15, tzinfo=PARIS) + timedelta(minutes=30 * k) for k in range(48)]
    text = META + "".join(f"{start.isoformat()};{600 + 4 * k}\n" for k, start in enumerate(starts))

    detected = parse_enedis_csv(text.encode(), "export.csv")
    forced = parse_enedis_csv(text.encode(), "export.csv", stamp=Stamp.END)

    assert detected.stamp is Stamp.START
    assert list(_only_day(detected, date(2025, 1, 15)).hours.values()) == [
        602 + 8 * h for h in range(24)
    ]
    assert forced.stamp is Stamp.END
    assert forced.days == []
    assert forced.incomplete_days == [date(2025, 1, 14), date(2025, 1, 15)]


def test_a_second_data_block_is_not_read_as_the_first() -> None:
    ends = [
        datetime(2025, 1, 15, 0, 30, tzinfo=PARIS) + timedelta(minutes=30 * k) for k in range(48)
    ]
    index_block = (
        "\nIdentifiant PRM;Type de donnees;Date de debut;Date de fin\n"
        f"{PRM};Index;15/01/2025;16/01/2025\nHorodate;Type de releve;EAS T\n"
        "2025-01-15T00:00:00+01:00;Arrete quotidien;1834405\n"
    )
    text = META + "".join(f"{end.isoformat()};500\n" for end in ends) + index_block

    result = parse_enedis_csv(text.encode(), "export.csv")

    assert [d.day for d in result.days] == [date(2025, 1, 15)]
    assert result.problems == [
        Problem(54, "another data block starts here: only the first is read")
    ]


# --- damaged files ----------------------------------------------------------------------------


def test_truncated_last_line_is_reported_and_its_day_is_incomplete() -> None:
    result = _parse("mes_donnees_courbe_tronquee.csv")

    assert [d.day for d in result.days] == [date(2025, 1, 1)]
    assert result.incomplete_days == [date(2025, 1, 2)]
    assert result.problems == [Problem(58, "line cut short")]


def _downloader_day(last: str) -> bytes:
    """A Conso Downloader file of 2025-01-15 whose last line is `last`, with no line break."""
    starts = [datetime(2025, 1, 15, tzinfo=PARIS) + timedelta(minutes=30 * k) for k in range(47)]
    rows = "".join(
        f'{s:%Y-%m-%dT%H:%M};{s + timedelta(minutes=30):%Y-%m-%dT%H:%M};"0,5"\n' for s in starts
    )
    return f"debut;fin;kW\n{rows}{last}".encode()


@pytest.mark.parametrize(
    ("last", "complete"),
    [
        ('2025-01-15T23:30;2025-01-16T00:00;"0,6"', True),
        ('2025-01-15T23:30;2025-01-16T00:00;"0,6', False),
        ("2025-01-15T23:30;2025-01-16T00:00;", False),
    ],
)
def test_a_last_line_without_line_break_is_kept_only_when_whole(last: str, complete: bool) -> None:
    result = parse_enedis_csv(_downloader_day(last), "historique_conso_x.csv")

    assert [d.day for d in result.days] == ([date(2025, 1, 15)] if complete else [])
    assert result.problems == ([] if complete else [Problem(49, "line cut short")])


def test_null_value_is_a_hole_not_a_zero() -> None:
    """bokub/ha-linky reads the downloader's `null` as 0; here the day is incomplete."""
    result = parse_enedis_csv(
        _downloader_day("2025-01-15T23:30;2025-01-16T00:00;null\n"), "historique_conso_x.csv"
    )

    assert (result.days, result.incomplete_days, result.problems) == ([], [date(2025, 1, 15)], [])


def test_identical_duplicate_is_ignored_and_a_conflicting_one_spoils_its_day() -> None:
    result = _parse("mes_donnees_doublons.csv")

    day = _only_day(result, date(2025, 1, 10))  # 05:00 is there twice, same value
    assert list(day.hours.values()) == [1000.0] * 24
    assert date(2025, 1, 11) in result.incomplete_days  # 07:00 twice: 1000 W, then 1500 W
    assert Problem(54, "conflicts with line 36") in result.problems
    assert not [p for p in result.problems if p.line < 54]


def test_bad_lines_are_reported_with_their_numbers_and_the_rest_is_parsed() -> None:
    result = _parse("mes_donnees_doublons.csv")

    assert [p for p in result.problems if p.line > 54] == [
        Problem(63, "unreadable value 'abc'"),
        Problem(64, "value '-5' is negative or not a number"),
        Problem(65, "1 columns, 2 expected"),
        Problem(66, "unreadable timestamp '2025-13-12T12:00:00+01:00'"),
    ]
    assert result.incomplete_days == [date(2025, 1, 11), date(2025, 1, 12)]
    assert [d.day for d in result.days] == [date(2025, 1, 10)]


def test_prm_of_a_foreign_file_name_is_reported_and_the_file_metadata_wins() -> None:
    result = _parse("mes_donnees_courbe_mars.csv", "historique_conso_98765432109876_2025.csv")

    assert result.prm == PRM
    assert result.problems == [Problem(2, f"the file name says PRM 98765432109876, the file {PRM}")]
    assert [d.day for d in result.days] == [date(2025, 3, 30)]


def test_a_foreign_meters_file_names_its_own_prm() -> None:
    """The action refuses it (`csv_foreign_prm`): the parser reads it whole, with its PRM."""
    result = _parse("mes_donnees_autre_prm.csv")

    assert (result.prm, result.kind, result.problems) == (
        "98765432109876",
        ExportKind.CONSUMPTION,
        [],
    )
    day = _only_day(result, date(2025, 1, 20))
    assert list(day.hours.values()) == [703 + 12 * h for h in range(24)]


def test_prm_and_kind_come_from_the_file_name_without_metadata() -> None:
    consumption = _parse(f"historique_conso_{PRM}_2025-10-27.csv")
    production = _parse(f"historique_prod_{PRM}_virgule.csv")

    assert (consumption.prm, consumption.kind) == (PRM, ExportKind.CONSUMPTION)
    assert (production.prm, production.kind) == (PRM, ExportKind.PRODUCTION)
    assert parse_enedis_csv(b"debut;fin;kW\n", "export.csv").prm is None


# --- encodings and separators -----------------------------------------------------------------


def test_utf8_bom_does_not_hide_the_metadata() -> None:
    data = (FIXTURES / "mes_donnees_courbe_mars.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")

    result = parse_enedis_csv(data, "export.csv")

    assert (result.encoding, result.prm, result.kind) == ("utf-8-sig", PRM, ExportKind.CONSUMPTION)


def test_windows_1252_one_table_export_with_metadata_on_every_row() -> None:
    result = _parse("export_une_table_cp1252.csv")

    assert result.encoding == "cp1252"
    assert (result.prm, result.kind, result.step_minutes) == (PRM, ExportKind.CONSUMPTION, 30)
    day = _only_day(result, date(2025, 1, 15))
    assert list(day.hours.values()) == [602 + 8 * h for h in range(24)]


def test_latin1_fallback_for_bytes_windows_1252_does_not_define() -> None:
    data = b"Export \x81 PRM\r\n" + (FIXTURES / "export_une_table_cp1252.csv").read_bytes()

    result = parse_enedis_csv(data, "export.csv")

    assert result.encoding == "latin-1"
    assert result.kind is ExportKind.CONSUMPTION  # read from the accented "Grandeur métier"
    assert [d.day for d in result.days] == [date(2025, 1, 15)]


def test_comma_and_semicolon_separators_read_the_same() -> None:
    semicolon = _parse(f"historique_prod_{PRM}_point_virgule.csv")
    comma = _parse(f"historique_prod_{PRM}_virgule.csv")

    assert comma.days == semicolon.days
    assert list(_only_day(comma, date(2025, 1, 15)).hours.values()) == pytest.approx(
        [303 + 12 * h for h in range(24)]
    )
    assert comma.problems == semicolon.problems == []


# --- not an energy export ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason", "message"),
    [
        (b"nom;prenom\nDupont;Jean\n", "not_export", "not an Enedis export"),
        (b"", "not_export", "not an Enedis export"),
        (
            b"Horodate;Valeur\n2025-01-15T00:30:00+01:00;500\n",
            "unknown_unit",
            "unit of the values is unknown",
        ),
        (
            b"Identifiant PRM;Type de donnees;Unite\n12345678901234;Puissance maximale "
            b"quotidienne;VA\nHorodate;Valeur\n2025-01-15T18:17:24+01:00;3695\n",
            "max_power",
            "maximum powers",
        ),
        (
            b"Horodate;Valeur (W)\n2025-01-15T00:00:00+01:00;5\n2025-01-15T00:07:00+01:00;5\n",
            "unknown_step",
            "gaps of 7 min",
        ),
        (
            b"Date;Valeur (W)\n2025-01-15;500\n2025-01-16;600\n",
            "daily_power",
            "average power",
        ),
    ],
)
def test_what_is_no_energy_export_raises(data: bytes, reason: str, message: str) -> None:
    """Each reason has its own translated error in the action (`csv_<reason>`)."""
    with pytest.raises(EnedisCsvError, match=message) as err:
        parse_enedis_csv(data, "export.csv")
    assert err.value.reason == reason
