"""The typed options model: parse, write, validate, migrate (`options.py`)."""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.linky.energy.tariffs import Bucket, ContractOption
from custom_components.linky.options import (
    OPTIONS_VERSION,
    ImportOptions,
    LinkyOptions,
    OptionsError,
    migrate,
)
from custom_components.linky.sync.model import SyncOptions

PDL = "25946599093150"
OTHER = "25946599093143"
SAVED_0_1_0 = Path(__file__).parents[2] / "fixtures" / "upgrade" / "0.1.0" / "config_entry.json"


def _saved() -> dict[str, Any]:
    """The options version 0.1.0 saved with every feature on."""
    data: dict[str, Any] = json.loads(SAVED_0_1_0.read_text("utf-8"))
    return data["options"]


def test_defaults_of_an_empty_entry() -> None:
    """An entry with no options (created by an old flow or a test) imports consumption with
    the full history and the default cap, and nothing else."""
    options = LinkyOptions.parse({})
    assert options == LinkyOptions()
    assert options.meter == ImportOptions(False, None, 36, 24, 50, False)
    assert options.sync_options(PDL) == SyncOptions(PDL, None, 36, 24)
    assert (options.tariff, options.shedding, options.pv_entity) == (None, None, None)
    assert not options.uses_tempo
    assert options.problems == ()


def test_migrate_moves_the_loads_out_of_the_options() -> None:
    """Version 1 (0.1.0) kept the loads in the load-shedding section: they come out, in
    order, as the data of the load subentries; nothing else changes."""
    saved = _saved()
    options, loads = migrate(1, saved)
    assert [load["entity_id"] for load in loads] == ["switch.heater", "climate.living"]
    assert loads == saved["load_shedding"]["loads"]
    assert "loads" not in options["load_shedding"]
    assert {k: v for k, v in options.items() if k != "load_shedding"} == {
        k: v for k, v in saved.items() if k != "load_shedding"
    }
    assert migrate(OPTIONS_VERSION, options) == (options, [])


def test_every_option_of_0_1_0_reads_and_writes_back_unchanged() -> None:
    """Parsing 0.1.0's options (and its loads) and writing them back gives the same stored
    form: an upgrade rewrites nothing by accident."""
    stored, loads = migrate(1, _saved())
    options = LinkyOptions.parse(stored, loads)
    assert options.problems == ()
    assert options.meter == ImportOptions(True, PDL, 36, 1, 50, False)
    assert options.tariff is not None
    assert options.tariff.periods[-1].option is ContractOption.HPHC
    assert options.contract_kva == 6
    assert options.tempo.url is not None
    assert options.uses_tempo
    assert options.pv_entity == "sensor.pv_energy"
    shedding = options.shedding
    assert shedding is not None
    assert [load.entity_id for load in shedding.loads] == ["switch.heater", "climate.living"]
    assert shedding.peak_buckets == frozenset({Bucket.HP})
    assert shedding.threshold is not None
    assert shedding.threshold.dwell == timedelta(0)
    written = options.as_options()
    expected = {  # plus the defaults of settings 0.1.0 did not have
        **stored,
        "retention_years": 0,
        "load_shedding": {**stored["load_shedding"], "step_interval": 60.0},
    }
    assert written == expected
    assert LinkyOptions.parse(written, loads) == options


def test_unreadable_sections_are_left_out_and_named() -> None:
    """A section that cannot be read is ignored (the rest still works) and named in
    `problems`, so that the glue can log it."""
    options = LinkyOptions.parse(
        {
            "production": True,
            "tariff": {"periods": [{"start": "not a date"}]},
            "load_shedding": {"subscribed_kva": 6, "on_ratio": 0.5, "off_ratio": 0.8},
            "request_cap": 50,
        }
    )
    assert options.meter.production
    assert options.tariff is None
    assert options.shedding is None
    assert [problem.split(":")[0] for problem in options.problems] == ["tariff", "load shedding"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("daily_history_months", 0), ("hourly_history_months", 25), ("request_cap", 5)],
)
def test_import_options_out_of_range_are_refused(field: str, value: int) -> None:
    """The limits hold whatever writes the options (the form has them too)."""
    with pytest.raises(OptionsError) as err:
        ImportOptions(**{field: value})
    assert (err.value.key, err.value.field) == ("out_of_range", field)
    if field != "request_cap":
        assert LinkyOptions.parse({field: value}).meter == ImportOptions()


@pytest.mark.parametrize(("saved", "read"), [(10, 20), (5, 20), (95, 80), (35, 35)])
def test_saved_request_cap_is_kept_within_the_limits(saved: int, read: int) -> None:
    """0.1.0 allowed a cap of 10, at the back-fill's reserve (it could never send): it
    reads as today's minimum, never as the (higher) default; above the maximum as the
    maximum."""
    assert LinkyOptions.parse({"request_cap": saved}).meter.request_cap == read


def test_production_and_subscribed_power() -> None:
    """Production reads the production PDL (else the meter's own); the subscribed power is
    the load-shedding setting, else the contract's."""
    options = LinkyOptions.parse({"production": True, "production_pdl": OTHER, "kva": 9})
    assert options.sync_options(PDL).production_pdl == OTHER
    assert options.sync_options(PDL).series == ("consumption", "production")
    assert options.subscribed_kva == 9
    options = LinkyOptions.parse(
        {"production": True, "kva": 9, "load_shedding": {"subscribed_kva": 12}}
    )
    assert options.sync_options(PDL).production_pdl == PDL
    assert options.subscribed_kva == 12
