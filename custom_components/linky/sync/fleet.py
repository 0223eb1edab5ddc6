"""PROPOSED fleet policy (issue 15): when the meters of one instance may spend requests.

Not wired into the integration: measured by `benchmarks/fleet_sim.py` against today's
rules, meant to move unchanged to `custom_components/linky/sync/fleet.py` (HA-free: it
imports nothing but `localtime` and `const`) and be driven by one fleet-level scheduler per
API host instead of one timer per coordinator. It only decides; the caller runs the actions
with each meter's `MeterSync` and reports the outcome (`FleetPolicy.done`).

The rules, in order of priority:

1. **Daily runs first, one request per meter.** A daily run reads the last 7 days of the
   consumption load curve only (no max power, no production: see 4). Nothing daily happens
   before the first probe time.
2. **One fleet-level probe of publication.** Yesterday is published for every meter at
   about the same time. While no meter has found it today, only one stale meter (a
   different one at each probe, in a rotation that moves every day) runs at each probe time
   (`FleetConfig.probe_times`: every 15 to 20 minutes from 07:55 to 10:00, then 13:30 and
   17:00); the others spend nothing. A probe is that meter's own daily run, so a probe that
   finds the data is not wasted.
3. **The burst.** Once a meter finds yesterday, every other stale meter gets a slot
   `settle` later, `spread` apart: the meters longest without data first (then the day's
   rotation, so the same meters are not always last), new meters (first import) last. A
   meter that still misses yesterday (its own publication a little later, or never) tries
   again 20, 40, 80, 160 minutes later, then gives up for the day (tomorrow's 7-day window
   takes both days). Nothing daily after `cutoff` (20:00). A run that would not fit in the
   cap waits until a request leaves the rolling window.
4. **Max power and production every few days.** The max power is one request for up to 365
   days: it is asked every `max_power_every` days for the days since the last fetch (plus
   one of overlap). Production's load curve (7 days per call) every `production_every`
   days. Both are background work (5).
5. **Background work under a reserve sized for the daily runs.** First imports of new
   meters when there is room for all their requests (3 of daily history, then the load
   curve: nothing else goes while one waits; otherwise they come in the next burst, last),
   then overdue max power and production, then back-fill and gap healing, one 7-day window
   per meter in round robin (new meters' back-fill and old meters' gap healing alternate).
   Background work may run only while it leaves room, in every rolling window that will
   contain a daily run, for the daily runs still to come (a new meter's counts 4): see
   `FleetPolicy.allowance`.
6. **One failure pauses the fleet.** A server or connection error pauses every request for
   5 minutes, doubled at each failure in a row up to 2 hours (one meter's failure saves the
   other meters' requests); a refusal by the request budget waits until a request leaves
   the rolling window.

The request budget (`conso.budget.RequestBudget`) stays the hard guard: the policy only
keeps the daily runs from meeting it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from ..const import SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..localtime import PARIS, local_date

MAX_POWER_MAX_DAYS = 60
"""The engine keeps 60 days of max power: never ask for more."""


class ActionKind(StrEnum):
    """What an action does."""

    PROBE = "probe"  # a stale meter's daily run while yesterday's publication is not seen
    DAILY = "daily"  # a stale meter's daily run once it is
    FIRST_IMPORT = "first_import"  # a new meter: daily history, its daily run, max power
    MAX_POWER = "max_power"
    PRODUCTION = "production"  # the last 7 days of the production load curve
    BACKFILL = "backfill"  # gap healing and back-fill, `grant` windows


DAILY_KINDS = frozenset({ActionKind.PROBE, ActionKind.DAILY, ActionKind.FIRST_IMPORT})


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, PARIS)


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """The policy's constants (times are Europe/Paris, with non-round seconds)."""

    probe_times: tuple[time, ...] = (
        time(7, 55, 17),
        time(8, 10, 17),
        time(8, 25, 17),
        time(8, 40, 17),
        time(9, 0, 17),
        time(9, 20, 17),
        time(9, 40, 17),
        time(10, 0, 17),
        time(13, 30, 17),
        time(17, 0, 17),
    )
    settle: timedelta = timedelta(minutes=10)
    """From the first meter finding yesterday to the burst (other meters' data may be
    published a few minutes later)."""
    spread: timedelta = timedelta(seconds=20)
    """Between two meters' daily runs in the burst."""
    miss_retry: timedelta = timedelta(minutes=20)
    """A meter that misses yesterday after the fleet saw it: again after this, doubled."""
    max_misses: int = 5
    cutoff: time = time(20, 0)
    """No daily run after this (tomorrow's 7-day window brings both days)."""
    max_power_every: int = 7
    production_every: int = 3
    probe_reserve: int = 3
    """Unsuccessful probes kept in the reserve while publication is not seen."""
    safety: int = 2
    """Requests never planned: a partial day's daily fallback, a failure's request."""
    first_import_cost: int = 4
    """A new meter's first run: 3 requests of daily history, then its load curve."""
    failure_pause: timedelta = timedelta(minutes=5)
    max_failure_pause: timedelta = timedelta(hours=2)
    tick: timedelta = timedelta(minutes=5)
    """How often background work that waits for room is looked at again."""


@dataclass(frozen=True, slots=True)
class Action:
    """One run of one meter's engine."""

    kind: ActionKind
    pdl: str
    grant: int = 1
    """Requests the run may send (back-fill windows); a first import sends more."""
    series: tuple[str, ...] = ()
    """Series whose last 7 days the run reads (`MeterSync` daily refresh)."""
    max_power_days: int | None = None
    """Days of max power the run asks for, ending yesterday (None: none)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run gave."""

    got_yesterday: bool
    """Yesterday's consumption is stored after the run."""
    failed: bool = False
    """The run ended on a server or connection error."""
    refused: bool = False
    """The request budget refused a request (nothing sent)."""


@dataclass(slots=True)
class FleetMeter:
    """What the policy knows of one meter."""

    pdl: str
    production: bool = False
    imported: bool = True
    """False: the first import (daily history) is still to do."""
    fresh_on: date | None = None
    """The local day on which yesterday's consumption was last obtained."""
    misses: int = 0
    due_at: datetime | None = None
    max_power_on: date | None = None
    production_on: date | None = None


class FleetPolicy:
    """Decides which meter sends what, and when, for every meter sharing one budget."""

    def __init__(
        self,
        cap: int,
        window: timedelta = timedelta(hours=12),
        config: FleetConfig | None = None,
    ) -> None:
        """`cap` requests per rolling `window`: the shared `RequestBudget`'s."""
        self.cap = cap
        self.window = window
        self.config = config or FleetConfig()
        self.meters: dict[str, FleetMeter] = {}
        self._day: date | None = None
        self.published_at: datetime | None = None
        """When a meter first found yesterday today (None: not yet)."""
        self._probe_index = 0
        self._pause_until: datetime | None = None
        self._pause = self.config.failure_pause
        self._round_robin = 0

    def add_meter(self, meter: FleetMeter) -> None:
        """A meter joins the fleet (an entry set up)."""
        self.meters[meter.pdl] = meter

    def remove_meter(self, pdl: str) -> None:
        """A meter leaves the fleet (an entry unloaded)."""
        self.meters.pop(pdl, None)

    # --- the day --------------------------------------------------------------------------

    def _roll(self, now: datetime) -> date:
        today = local_date(now)
        if today != self._day:
            self._day = today
            self.published_at = None
            self._probe_index = 0
            for meter in self.meters.values():
                meter.misses = 0
                meter.due_at = None
        return today

    def first_probe(self, day: date) -> datetime:
        """When daily runs may start on `day`."""
        return _at(day, self.config.probe_times[0])

    def rotation(self, day: date) -> list[FleetMeter]:
        """Every meter, in the day's order (the start moves by one every day)."""
        pdls = sorted(self.meters)
        if not pdls:
            return []
        shift = day.toordinal() % len(pdls)
        return [self.meters[pdl] for pdl in pdls[shift:] + pdls[:shift]]

    def stale(self, day: date) -> list[FleetMeter]:
        """The meters whose yesterday is still to fetch on `day`: the imported ones first,
        the longest without data first, then the day's order; new meters (first import)
        last."""
        rotation = self.rotation(day)
        stale = [
            meter
            for meter in rotation
            if meter.fresh_on != day and meter.misses < self.config.max_misses
        ]
        rank = {meter.pdl: index for index, meter in enumerate(rotation)}
        return sorted(
            stale,
            key=lambda meter: (
                not meter.imported,
                meter.fresh_on or date.min,
                rank[meter.pdl],
            ),
        )

    def cost(self, meter: FleetMeter) -> int:
        """Requests of a meter's daily run: 1, or a first import's."""
        return 1 if meter.imported else self.config.first_import_cost

    # --- the reserve ----------------------------------------------------------------------

    def allowance(self, now: datetime, sent: Sequence[datetime]) -> int:
        """How many background requests may go now (may be negative).

        `sent`: the send times still in the budget's rolling window, sorted. A request sent
        now is in every window that ends within `window` from now. Daily runs still to come
        are counted at the earliest moment they may happen (the first probe time, or now),
        the worst case for the windows that contain them:
        - today's stale meters, plus `probe_reserve` while publication is not seen, until
          the cutoff;
        - tomorrow's daily runs (every imported meter plus the probe reserve) in the window
          that ends at tomorrow's first probe, once now is within `window` of it.
        `safety` requests are never planned.
        """
        config = self.config
        today = self._roll(now)

        def sent_after(instant: datetime) -> int:
            return len(sent) - bisect.bisect_right(sent, instant)

        limit = self.cap - config.safety
        allowed = limit - sent_after(now - self.window)
        before_cutoff = now < _at(today, config.cutoff)
        pending_today = 0
        if before_cutoff and (stale := self.stale(today)):
            pending_today = sum(map(self.cost, stale))
            pending_today += config.probe_reserve if self.published_at is None else 0
            start = max(now, self.first_probe(today))
            allowed = min(allowed, limit - sent_after(start - self.window) - pending_today)
        tomorrow = self.first_probe(today + timedelta(days=1))
        if now > tomorrow - self.window:
            daily = sum(map(self.cost, self.meters.values())) + config.probe_reserve
            if _at(today, config.cutoff) <= tomorrow - self.window:
                pending_today = 0  # today's runs end before tomorrow's window starts
            allowed = min(
                allowed, limit - sent_after(tomorrow - self.window) - daily - pending_today
            )
        return allowed

    # --- deciding -------------------------------------------------------------------------

    def next_action(
        self,
        now: datetime,
        sent: Sequence[datetime],
        backfill_pending: Callable[[str], bool],
    ) -> Action | datetime:
        """The action to run now, or when to ask again (an action's outcome, a meter
        added, also call for asking again). `sent`: as for `allowance`;
        `backfill_pending(pdl)`: whether the meter's engine has gaps to fetch."""
        config = self.config
        today = self._roll(now)
        wakes = [datetime.combine(today + timedelta(days=1), time(0, 0, 1), PARIS)]
        if self._pause_until is not None and now < self._pause_until:
            return self._pause_until
        in_window = bisect.bisect_right(sent, now - self.window)
        full = len(sent) - in_window >= self.cap
        first = self.first_probe(today)
        if now < first:
            wakes.append(first)
        elif now < _at(today, config.cutoff) and (stale := self.stale(today)):
            probes = [meter for meter in stale if meter.imported]
            if self.published_at is None and probes:
                if self._probe_index < len(config.probe_times):
                    probe_at = _at(today, config.probe_times[self._probe_index])
                    if now < probe_at:
                        wakes.append(probe_at)
                    elif full:
                        wakes.append(sent[in_window] + self.window + timedelta(seconds=1))
                    else:
                        meter = probes[self._probe_index % len(probes)]
                        return Action(ActionKind.PROBE, meter.pdl, series=(SERIES_CONSUMPTION,))
            else:
                for meter in stale:
                    if meter.due_at is None:
                        meter.due_at = now
                meter = min(stale, key=lambda meter: meter.due_at or now)
                assert meter.due_at is not None
                if meter.due_at > now:
                    wakes.append(meter.due_at)
                elif len(sent) - in_window + self.cost(meter) > self.cap:
                    wakes.append(sent[in_window] + self.window + timedelta(seconds=1))
                elif meter.imported:
                    return Action(ActionKind.DAILY, meter.pdl, series=(SERIES_CONSUMPTION,))
                else:
                    return self._first_import(meter)
        background = self._background(now, today, sent, backfill_pending)
        if isinstance(background, Action):
            return background
        if background:
            wakes.append(now + config.tick)
        return min(wakes)

    def _background(
        self,
        now: datetime,
        today: date,
        sent: Sequence[datetime],
        backfill_pending: Callable[[str], bool],
    ) -> Action | bool:
        """The background action allowed now, or whether some waits for room."""
        config = self.config
        allowance = self.allowance(now, sent)
        waiting = False
        meters = self.rotation(today)
        for meter in meters:
            if not meter.imported:
                if allowance >= config.first_import_cost:
                    return self._first_import(meter)
                waiting = True
        if waiting:
            return True  # room is kept for the first import (4 requests at once)
        overdue = [
            (self._age(meter.max_power_on, today), meter)
            for meter in meters
            if meter.imported and self._age(meter.max_power_on, today) >= config.max_power_every
        ]
        if overdue:
            age, meter = max(overdue, key=lambda item: item[0])
            if allowance < 1:
                return True
            days = min(MAX_POWER_MAX_DAYS, age + 1)
            return Action(ActionKind.MAX_POWER, meter.pdl, max_power_days=days)
        for meter in meters:
            if (
                meter.imported
                and meter.production
                and self._age(meter.production_on, today) >= config.production_every
            ):
                if allowance < 1:
                    return True
                return Action(ActionKind.PRODUCTION, meter.pdl, series=(SERIES_PRODUCTION,))
        pdls = sorted(pdl for pdl, meter in self.meters.items() if meter.imported)
        for offset in range(len(pdls)):
            index = (self._round_robin + offset) % len(pdls)
            if backfill_pending(pdls[index]):
                if allowance < 1:
                    return True
                self._round_robin = index + 1
                return Action(ActionKind.BACKFILL, pdls[index], grant=1)
        return False

    def _first_import(self, meter: FleetMeter) -> Action:
        return Action(
            ActionKind.FIRST_IMPORT,
            meter.pdl,
            grant=self.config.first_import_cost,
            series=(SERIES_CONSUMPTION,),
        )

    @staticmethod
    def _age(on: date | None, today: date) -> int:
        return MAX_POWER_MAX_DAYS if on is None else (today - on).days

    # --- outcomes -------------------------------------------------------------------------

    def done(self, action: Action, now: datetime, outcome: Outcome) -> None:
        """Record what an action gave."""
        config = self.config
        today = self._roll(now)
        meter = self.meters.get(action.pdl)
        if meter is None:
            return
        if outcome.failed:
            self._pause_until = now + self._pause
            self._pause = min(self._pause * 2, config.max_failure_pause)
        elif not outcome.refused:
            self._pause = config.failure_pause
        if action.kind in DAILY_KINDS:
            if action.kind is ActionKind.FIRST_IMPORT and not (outcome.failed or outcome.refused):
                meter.imported = True
            if outcome.got_yesterday:
                meter.fresh_on = today
                meter.due_at = None
                if self.published_at is None:
                    self._published(max(now, self.first_probe(today)), today)
            elif outcome.failed or outcome.refused:
                if action.kind is not ActionKind.PROBE:
                    meter.due_at = self._pause_until or now
            elif action.kind is ActionKind.PROBE:
                self._probe_index = self._next_probe_index(now, today)
            else:
                meter.misses += 1
                meter.due_at = now + config.miss_retry * 2 ** (meter.misses - 1)
        elif not (outcome.failed or outcome.refused):
            if action.kind is ActionKind.MAX_POWER:
                meter.max_power_on = today
            elif action.kind is ActionKind.PRODUCTION:
                meter.production_on = today

    def _next_probe_index(self, now: datetime, today: date) -> int:
        times = self.config.probe_times
        index = self._probe_index + 1
        while index < len(times) and _at(today, times[index]) <= now:
            index += 1
        return index

    def _published(self, now: datetime, today: date) -> None:
        """Yesterday is out: every stale meter gets its slot in the burst."""
        self.published_at = now
        start = now + self.config.settle
        for rank, meter in enumerate(self.stale(today)):
            meter.due_at = start + self.config.spread * rank
