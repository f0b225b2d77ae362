"""When an outlet is next due: adaptive polling, weighted failures, capped exponential backoff.

Pure policy: every function takes `now` and, for jitter, a random source; nothing here reads
a clock or the database, so tests drive it with any time they like (no sleeps, no freezegun).
The daemon stores the `Decision` on the outlet's row; whichever process next holds the lease
continues from it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

# How much one failed crawl counts, by what went wrong. A timeout or a refused connection is
# usually the network or a busy server and passes; a feed answering 404 or 410, or a
# document that is not a feed at all, usually means the outlet moved it and will not pass.
FAILURE_WEIGHTS: dict[str, float] = {
    "timeout": 0.5,
    "connection": 1.0,
    "http_5xx": 1.0,
    "http_429": 1.0,
    "dns": 1.5,
    "crashed": 1.0,
    "http_403": 2.0,
    "http_4xx": 2.0,
    "unusable": 2.0,
    "http_404": 3.0,
    "robots": 3.0,
}
DEFAULT_WEIGHT = 1.0


@dataclass(frozen=True)
class Policy:
    slow_down: float = 1.5       # factor after a poll that found nothing new
    speed_up: float = 0.5        # factor after a poll where most links were new
    busy_fraction: float = 0.5   # "most": this share of the links seen, at least one
    backoff_cap: timedelta = timedelta(hours=6)
    unhealthy_score: float = 8.0  # e.g. three 404 feeds in a row, or sixteen timeouts
    jitter_fraction: float = 0.1
    max_jitter: timedelta = timedelta(seconds=60)


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Bounds:
    """The configured interval and the range adaptation keeps to (per outlet, outlets file)."""

    interval: timedelta
    minimum: timedelta
    maximum: timedelta

    def clamp(self, value: timedelta) -> timedelta:
        return max(self.minimum, min(self.maximum, value))


@dataclass(frozen=True)
class State:
    """What the outlet's row says before the crawl."""

    poll: timedelta | None = None  # the adapted interval; None before the first crawl
    failure_score: float = 0.0
    consecutive_failures: int = 0


@dataclass(frozen=True)
class Poll:
    """What one crawl of the outlet found."""

    ok: bool
    links_seen: int = 0
    links_new: int = 0
    unchanged: bool = False  # every source answered 304, or the same body as last time
    failure_kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    next_due_at: datetime
    poll: timedelta
    failure_score: float
    consecutive_failures: int
    healthy: bool


def failure_weight(kinds: tuple[str, ...] | list[str]) -> float:
    """A failed crawl weighs what its worst source failure weighs."""
    return max((FAILURE_WEIGHTS.get(k, DEFAULT_WEIGHT) for k in kinds), default=DEFAULT_WEIGHT)


def adapt(current: timedelta, poll: Poll, bounds: Bounds, policy: Policy = DEFAULT_POLICY) -> timedelta:
    """The next interval after a successful poll: longer when nothing was new, shorter when most was."""
    if poll.unchanged or poll.links_new == 0:
        return bounds.clamp(current * policy.slow_down)
    if poll.links_new >= max(1.0, poll.links_seen * policy.busy_fraction):
        return bounds.clamp(current * policy.speed_up)
    return bounds.clamp(current)


def backoff(score: float, interval: timedelta, policy: Policy = DEFAULT_POLICY) -> timedelta:
    """Exponential in the failure score, capped: 0.5 -> 1.4x the interval, 1 -> 2x, 3 -> 8x."""
    if score <= 0:
        return interval
    return max(interval, min(policy.backoff_cap, interval * 2.0 ** min(score, 30.0)))


def jitter(delay: timedelta, rand: Callable[[], float], policy: Policy = DEFAULT_POLICY) -> timedelta:
    """Up to `jitter_fraction` of the delay (at most `max_jitter`) so outlets do not poll in lockstep."""
    return min(policy.max_jitter, delay * policy.jitter_fraction) * rand()


def decide(
    state: State, poll: Poll, bounds: Bounds, now: datetime, *, cron_next: datetime | None = None,
    policy: Policy = DEFAULT_POLICY, rand: Callable[[], float] = random.random,
) -> Decision:
    """The outlet's next due time and state after a crawl that ended at `now`.

    `cron_next`: for an outlet scheduled by a cron expression, its next fire time; it is then
    due at that time (no adaptation), unless backing off pushes it later.
    """
    current = bounds.clamp(state.poll or bounds.interval)
    if poll.ok:
        interval = current if cron_next else adapt(current, poll, bounds, policy)
        due = cron_next or now + interval + jitter(interval, rand, policy)
        return Decision(due, interval, 0.0, 0, True)

    score = state.failure_score + failure_weight(poll.failure_kinds)
    healthy = score < policy.unhealthy_score
    # An unhealthy outlet is still tried, at the cap, so it recovers by itself once fixed.
    delay = backoff(score, current, policy) if healthy else max(policy.backoff_cap, current)
    due = now + delay + jitter(delay, rand, policy)
    if cron_next and cron_next > due:
        due = cron_next
    return Decision(due, current, score, state.consecutive_failures + 1, healthy)


def default_bounds(interval: timedelta, minimum: timedelta | None = None,
                   maximum: timedelta | None = None) -> Bounds:
    """Unless the outlets file says otherwise: twice as often at most, four times as rarely at least."""
    lo = minimum or max(timedelta(seconds=30), min(interval, interval / 2))
    hi = maximum or interval * 4
    return Bounds(interval=interval, minimum=min(lo, interval), maximum=max(hi, interval))
