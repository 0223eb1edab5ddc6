"""Defaults: French regulated "Tarif Bleu" (EDF) residential prices, TTC (all taxes included:
accise, CTA, VAT), EUR/kWh. No Home Assistant import.

The table is `regulated_prices.json` next to this module, with the sources of every figure and
how to update it; update it at each movement (1 February, 1 August). It is read once, when
this module is imported: Home Assistant imports integration modules in an executor thread, so
the event loop never waits for the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
import json
from pathlib import Path
from typing import Any, Final

from .tariffs import Bucket, ContractOption, Tariff, TariffError, TariffPeriod

KVA_STEPS: Final = (3, 6, 9, 12, 15, 18, 24, 30, 36)

PRICES_FILE: Final = Path(__file__).with_name("regulated_prices.json")
"""The regulated price table, read into `DEFAULT_TARIFFS`."""


@dataclass(frozen=True, slots=True)
class DefaultGrid:
    """Public prices of one option from `start`, for the subscribed powers in `kva`.

    `subscription_yearly` (EUR/year TTC by kVA) holds only figures that were confirmed.
    """

    start: date
    option: ContractOption
    prices: Mapping[Bucket, Decimal]
    kva: tuple[int, ...] = KVA_STEPS
    subscription_yearly: Mapping[int, Decimal] = field(default_factory=dict)


_GRID_KEYS: Final = frozenset(
    {"start", "option", "decision", "prices", "kva", "subscription_yearly", "note", "sources"}
)
"""Keys of a grid in the file; `decision`, `note` and `sources` are documentation only."""


def load_grids(path: Path) -> tuple[DefaultGrid, ...]:
    """The grids of a price table file, in file order. Raises ValueError on a malformed file.

    Blocking (reads the file): call it at import time or in an executor, never in the loop.
    """
    try:
        grids = json.loads(path.read_text(encoding="utf-8"))["grids"]
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path.name}: invalid price table: {err!r}") from err
    if not isinstance(grids, list):
        raise ValueError(f"{path.name}: grids is not a list")  # noqa: TRY004
    parsed = []
    for index, item in enumerate(grids):
        try:
            parsed.append(_grid(item))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{path.name}: grid {index}: {err!r}") from err
    return tuple(parsed)


def _grid(item: Any) -> DefaultGrid:
    unknown = set(item) - _GRID_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    kva = item.get("kva")
    return DefaultGrid(
        start=_date(item["start"]),
        option=ContractOption(item["option"]),
        prices={Bucket(bucket): _amount(price) for bucket, price in item["prices"].items()},
        kva=KVA_STEPS if kva is None else tuple(_kva(value) for value in kva),
        subscription_yearly={
            _kva_key(key): _amount(amount)
            for key, amount in item.get("subscription_yearly", {}).items()
        },
    )


def _date(text: Any) -> date:
    day = date.fromisoformat(text)
    if day.isoformat() != text:
        raise ValueError(f"dates are YYYY-MM-DD, got {text!r}")
    return day


def _amount(text: Any) -> Decimal:
    """An exact amount: a decimal string (a JSON number would go through a float)."""
    if not isinstance(text, str):
        raise TypeError(f"amounts are strings, got {text!r}")
    try:
        amount = Decimal(text)
    except InvalidOperation as err:
        raise ValueError(f"not a number: {text!r}") from err
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {text!r}")
    return amount


def _kva(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"kVA values are integers, got {value!r}")
    return value


def _kva_key(key: str) -> int:
    """A kVA written as an object key ("6")."""
    if not (key.isascii() and key.isdigit()) or str(int(key)) != key:
        raise ValueError(f"kVA keys are integers, got {key!r}")
    return int(key)


DEFAULT_TARIFFS: Final[tuple[DefaultGrid, ...]] = load_grids(PRICES_FILE)


def default_tariff(
    option: ContractOption, kva: int, subscription_monthly: Decimal | None = None
) -> Tariff:
    """A tariff with every `DEFAULT_TARIFFS` grid of `option` for `kva`.

    Each period's subscription is the table's confirmed figure (yearly / 12) when there is
    one, else `subscription_monthly`. Raises TariffError when no grid matches.
    """
    periods = [
        TariffPeriod(
            start=grid.start,
            option=option,
            prices=dict(grid.prices),
            subscription_monthly=grid.subscription_yearly[kva] / 12
            if kva in grid.subscription_yearly
            else subscription_monthly,
        )
        for grid in sorted(DEFAULT_TARIFFS, key=lambda grid: grid.start)
        if grid.option is option and kva in grid.kva
    ]
    if not periods:
        raise TariffError(
            "no_default", f"no default {option} prices for {kva} kVA", option=option, kva=str(kva)
        )
    return Tariff(tuple(periods))
