"""ISO weeks of Europe/Paris days. No Home Assistant import.

An `IsoWeek` runs from the local Monday 00:00 to the next local Monday 00:00: 168 hours, 167
in the week of the March change, 169 in the October one. Its text ("2026-W48", `str` and
`IsoWeek.parse`) is its JSON form; weeks sort chronologically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
import re
from typing import Final

from ..energy.hourly import local_day_bounds

_WEEK_TEXT: Final = re.compile(r"(\d{4})-W(\d{2})")


def _weeks_in(year: int) -> int:
    """52 or 53: December 28 is always in an ISO year's last week."""
    return date(year, 12, 28).isocalendar().week


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """An ISO week: `year` is the ISO year (the year of the week's Thursday)."""

    year: int
    week: int

    def __post_init__(self) -> None:
        if not 1 <= self.week <= _weeks_in(self.year):
            raise ValueError(f"ISO year {self.year} has no week {self.week}")

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        """The ISO week of a (local) date."""
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """Inverse of `str` ("2026-W48"); raises ValueError."""
        match = _WEEK_TEXT.fullmatch(text)
        if match is None:
            raise ValueError(f"not an ISO week: {text!r}")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        """The week's first day."""
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        """The week's last day."""
        return date.fromisocalendar(self.year, self.week, 7)

    def days(self) -> tuple[date, ...]:
        """The 7 local dates, Monday first."""
        monday = self.monday
        return tuple(monday + timedelta(days=i) for i in range(7))

    def bounds(self) -> tuple[datetime, datetime]:
        """UTC instants of the local Monday 00:00 and of the next Monday 00:00."""
        return local_day_bounds(self.monday)[0], local_day_bounds(self.sunday)[1]

    def previous(self) -> IsoWeek:
        """The week before."""
        return IsoWeek.of(self.monday - timedelta(days=7))

    def next(self) -> IsoWeek:
        """The week after."""
        return IsoWeek.of(self.monday + timedelta(days=7))

    def year_before(self) -> IsoWeek:
        """The same ISO week number one ISO year earlier. A week 53 whose year before has
        only 52 weeks (always the case: two ISO years in a row never both have 53) maps to
        that year's week 52, its last week: the comparison stays one ISO year back and
        holiday-season against holiday-season, rather than being lost."""
        return IsoWeek(self.year - 1, min(self.week, _weeks_in(self.year - 1)))
