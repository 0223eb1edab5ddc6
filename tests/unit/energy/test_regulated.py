"""The regulated price table `energy/regulated_prices.json`: every grid has sources, ISO dates
sorted per option, a price for each bucket of its option (positive, below 1 EUR/kWh), kVA
among the steps, subscriptions for its own kVA, no overlap; and `DEFAULT_TARIFFS` is exactly
what the file says, read once at import."""

from __future__ import annotations

import builtins
from collections import Counter
from datetime import date
from decimal import Decimal
import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.linky.energy import regulated
from custom_components.linky.energy.regulated import (
    DEFAULT_TARIFFS,
    KVA_STEPS,
    DefaultGrid,
    default_tariff,
    load_grids,
)
from custom_components.linky.energy.tariffs import OPTION_BUCKETS, Bucket, ContractOption

FILE = Path(regulated.__file__).with_name("regulated_prices.json")

Table = dict[str, Any]


@pytest.fixture(scope="module")
def table() -> Table:
    """The file as plain JSON (not through the module's loader)."""
    data: Table = json.loads(FILE.read_text(encoding="utf-8"))
    return data


def is_iso_date(text: object) -> bool:
    """Whether `text` is a YYYY-MM-DD date."""
    if not isinstance(text, str):
        return False
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def grid_kva(grid: Table) -> list[int]:
    """The kVA that a grid applies to (all steps when it has no `kva`)."""
    return list(grid.get("kva", KVA_STEPS))


def test_the_file_says_how_to_update_it(table: Table) -> None:
    """A top-level note: TTC prices in EUR/kWh, updated at each movement."""
    note = " ".join(table["how_to_update"])
    for needle in ("TTC", "EUR/kWh", "1 February", "1 August", "sources"):
        assert needle in note


def test_every_grid_has_a_source(table: Table) -> None:
    """At least one source per grid, each naming its site and the figures it quotes."""
    assert table["grids"]
    for grid in table["grids"]:
        assert grid["sources"], grid
        for source in grid["sources"]:
            assert isinstance(source["site"], str)
            assert source["site"].strip()
            assert isinstance(source["figures"], str)
            assert source["figures"].strip()
            for key in ("published", "checked"):
                assert key not in source or is_iso_date(source[key]), source


def test_dates_are_iso_and_sorted_per_option(table: Table) -> None:
    """Starts are YYYY-MM-DD, and the grids of each option come in date order."""
    starts: dict[str, list[str]] = {}
    for grid in table["grids"]:
        assert is_iso_date(grid["start"]), grid["start"]
        starts.setdefault(grid["option"], []).append(grid["start"])
    for option, dates in starts.items():
        assert dates == sorted(dates), option


def test_every_option_bucket_has_a_price(table: Table) -> None:
    """Each grid prices exactly the buckets of its option, and every option has grids."""
    for grid in table["grids"]:
        buckets = tuple(bucket.value for bucket in OPTION_BUCKETS[ContractOption(grid["option"])])
        assert sorted(grid["prices"]) == sorted(buckets), grid["prices"]
    assert {grid["option"] for grid in table["grids"]} == {
        option.value for option in OPTION_BUCKETS
    }


def test_prices_are_positive_and_below_one_euro(table: Table) -> None:
    """Prices are exact decimal strings, in EUR/kWh: 0 < price < 1 (not c€, not EUR/MWh)."""
    for grid in table["grids"]:
        for bucket, price in grid["prices"].items():
            assert isinstance(price, str), (grid["start"], bucket)
            assert Decimal(0) < Decimal(price) < Decimal(1), (grid["start"], bucket, price)


def test_kva_values_are_steps(table: Table) -> None:
    """A `kva` list holds distinct subscribed powers among KVA_STEPS."""
    for grid in table["grids"]:
        if "kva" in grid:
            kva = grid["kva"]
            assert kva, grid["start"]
            assert len(set(kva)) == len(kva), kva
            for value in kva:
                assert type(value) is int, value
                assert value in KVA_STEPS, value


def test_subscriptions_are_for_the_grid_kva(table: Table) -> None:
    """Confirmed subscriptions (EUR/year, exact strings) only for powers the grid covers."""
    for grid in table["grids"]:
        for kva, amount in grid.get("subscription_yearly", {}).items():
            assert int(kva) in grid_kva(grid), (grid["start"], grid["option"], kva)
            assert isinstance(amount, str), amount
            assert Decimal(amount) > 0, amount


def test_no_two_grids_of_an_option_overlap(table: Table) -> None:
    """At one start, at most one grid of an option per kVA."""
    seen = Counter(
        (grid["option"], grid["start"], kva) for grid in table["grids"] for kva in grid_kva(grid)
    )
    assert [key for key, count in seen.items() if count > 1] == []


def test_each_movement_covers_every_kva(table: Table) -> None:
    """When an option moves, its grids of that date cover every power: none keeps an old price
    by mistake."""
    covered: dict[tuple[str, str], set[int]] = {}
    for grid in table["grids"]:
        covered.setdefault((grid["option"], grid["start"]), set()).update(grid_kva(grid))
    for key, kva in covered.items():
        assert sorted(kva) == list(KVA_STEPS), key


def _exact(grid: DefaultGrid) -> tuple[object, ...]:
    """A grid with its amounts as strings (Decimal("0.194") == Decimal("0.1940"))."""
    return (
        grid.start,
        grid.option,
        {bucket: str(price) for bucket, price in grid.prices.items()},
        grid.kva,
        {kva: str(amount) for kva, amount in grid.subscription_yearly.items()},
    )


def test_default_tariffs_is_the_file(table: Table) -> None:
    """DEFAULT_TARIFFS holds every grid of the file, in file order, with exact amounts."""
    expected = [
        DefaultGrid(
            start=date.fromisoformat(grid["start"]),
            option=ContractOption(grid["option"]),
            prices={Bucket(bucket): Decimal(price) for bucket, price in grid["prices"].items()},
            kva=tuple(grid_kva(grid)),
            subscription_yearly={
                int(kva): Decimal(amount)
                for kva, amount in grid.get("subscription_yearly", {}).items()
            },
        )
        for grid in table["grids"]
    ]
    assert list(DEFAULT_TARIFFS) == expected
    assert [_exact(grid) for grid in DEFAULT_TARIFFS] == [_exact(grid) for grid in expected]


def test_the_file_is_read_once_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """default_tariff never opens a file (it may run in the event loop)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"file access {args!r}")

    for name in ("open", "read_text", "read_bytes"):
        monkeypatch.setattr(Path, name, refuse)
    monkeypatch.setattr(builtins, "open", refuse)
    for option in ContractOption:
        for kva in KVA_STEPS:
            assert default_tariff(option, kva).periods


@pytest.mark.parametrize(
    ("grid", "error"),
    [
        ({"prices": {"base": 0.1952}}, "amounts are strings"),
        ({"subscription_yearly": {"6": 189.99}}, "amounts are strings"),
        ({"subscription_yearly": {"06": "189.99"}}, "kVA keys are integers"),
        ({"kva": ["6"]}, "kVA values are integers"),
        ({"kVA": [3, 6]}, "unknown keys"),
        ({"prices": {"base": "NaN"}}, "not a finite amount"),
        ({"start": "20250801"}, "dates are YYYY-MM-DD"),
    ],
)
def test_the_loader_refuses_a_malformed_grid(
    tmp_path: Path, grid: dict[str, Any], error: str
) -> None:
    """A JSON number (a float), a misspelt key or a bad kVA stops the import, loudly."""
    base = {"start": "2025-08-01", "option": "base", "prices": {"base": "0.1952"}, "sources": []}
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"grids": [base | grid]}), encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        load_grids(path)


def test_the_loader_reads_a_grid(tmp_path: Path) -> None:
    """kVA and subscriptions come through; no `kva` means every step."""
    path = tmp_path / "prices.json"
    grids = [
        {"start": "2026-02-01", "option": "base", "prices": {"base": "0.1940"}, "kva": [3, 6]},
        {
            "start": "2026-02-01",
            "option": "hphc",
            "prices": {"hp": "0.2065", "hc": "0.1579"},
            "subscription_yearly": {"9": "238.06"},
        },
    ]
    path.write_text(json.dumps({"grids": grids}), encoding="utf-8")
    assert load_grids(path) == (
        DefaultGrid(
            date(2026, 2, 1), ContractOption.BASE, {Bucket.BASE: Decimal("0.1940")}, (3, 6)
        ),
        DefaultGrid(
            date(2026, 2, 1),
            ContractOption.HPHC,
            {Bucket.HP: Decimal("0.2065"), Bucket.HC: Decimal("0.1579")},
            KVA_STEPS,
            {9: Decimal("238.06")},
        ),
    )
