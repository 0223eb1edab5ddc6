"""Daily temperature files: the simple CSV and Météo-France's daily climatological files."""

from __future__ import annotations

from datetime import date

import pytest

from custom_components.linky.analytics.weather import TemperatureFileError, parse_temperature_csv

METEO_FRANCE = """NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJ;RR;QRR;TN;QTN;TX;QTX;TM;QTM
75114001;PARIS-MONTSOURIS;48.82;2.34;75;20250101;0.2;1;3.1;1;8.5;1;5.6;1
75114001;PARIS-MONTSOURIS;48.82;2.34;75;20250102;0.0;1;-1.0;1;4.0;1;;
75114001;PARIS-MONTSOURIS;48.82;2.34;75;20250103;0.0;1;;;;;;
78621001;TRAPPES;48.77;2.01;168;20250101;0.0;1;2.0;1;7.0;1;4.2;1
"""


def test_simple_csv_with_iso_dates() -> None:
    parsed = parse_temperature_csv("date,temperature\n2025-01-01,5.5\n2025-01-02,-2\n")
    assert parsed.days == {date(2025, 1, 1): 5.5, date(2025, 1, 2): -2.0}
    assert parsed.skipped == 0
    assert parsed.station is None


def test_semicolons_decimal_commas_and_french_dates() -> None:
    parsed = parse_temperature_csv('"Jour";"TM"\n01/02/2025;4,5\n02/02/2025;x\n')
    assert parsed.days == {date(2025, 2, 1): 4.5}
    assert parsed.skipped == 1


def test_meteo_france_needs_the_station_when_the_file_has_several() -> None:
    with pytest.raises(TemperatureFileError) as err:
        parse_temperature_csv(METEO_FRANCE)
    assert err.value.reason == "several_stations"
    assert err.value.detail == "75114001, 78621001"
    with pytest.raises(TemperatureFileError) as err:
        parse_temperature_csv(METEO_FRANCE, "99999999")
    assert err.value.reason == "unknown_station"


def test_meteo_france_tm_then_the_mean_of_tn_and_tx() -> None:
    parsed = parse_temperature_csv(METEO_FRANCE, " 75114001 ")
    # TM when the station gives it, (TN + TX) / 2 when not, nothing without either
    assert parsed.days == {date(2025, 1, 1): 5.6, date(2025, 1, 2): 1.5}
    assert parsed.skipped == 1
    assert parsed.station == "75114001"
    only = "\n".join(line for line in METEO_FRANCE.splitlines() if "TRAPPES" not in line)
    assert parse_temperature_csv(only).station == "75114001"


def test_values_out_of_range_are_skipped() -> None:
    parsed = parse_temperature_csv(
        "date,temperature\n2025-01-01,99\n2025-01-02,nan\n2025-01-03,1\n"
    )
    assert parsed.days == {date(2025, 1, 3): 1.0}
    assert parsed.skipped == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty_file"),
        ("when,what\n2025-01-01,1\n", "unknown_columns"),
        ("date,temperature\nsoon,1\n", "no_rows"),
    ],
)
def test_unreadable_files_say_why(text: str, reason: str) -> None:
    with pytest.raises(TemperatureFileError) as err:
        parse_temperature_csv(text)
    assert err.value.reason == reason
