"""The scheduling policy with an injected clock: no sleeps, no patched datetime."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scheduler import due

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
TEN_MIN = timedelta(minutes=10)
BOUNDS = due.Bounds(interval=TEN_MIN, minimum=timedelta(minutes=2), maximum=timedelta(hours=1))


def no_jitter() -> float:
    return 0.0


def run(state: due.State, poll: due.Poll, now: datetime = T0, **kw) -> due.Decision:
    return due.decide(state, poll, BOUNDS, now, rand=no_jitter, **kw)


def test_first_success_is_due_one_interval_later() -> None:
    d = run(due.State(), due.Poll(ok=True, links_seen=10, links_new=3))
    assert d.next_due_at == T0 + TEN_MIN and d.healthy and d.failure_score == 0


def test_quiet_outlet_slows_down_to_its_maximum() -> None:
    state, now = due.State(), T0
    intervals = []
    for _ in range(10):
        d = run(state, due.Poll(ok=True, unchanged=True), now)
        intervals.append(d.poll)
        state, now = due.State(poll=d.poll), d.next_due_at
    assert intervals[0] == TEN_MIN * 1.5
    assert intervals == sorted(intervals) and intervals[-1] == BOUNDS.maximum


def test_prolific_outlet_speeds_up_to_its_minimum() -> None:
    state = due.State()
    for _ in range(6):
        d = run(state, due.Poll(ok=True, links_seen=20, links_new=15))
        state = due.State(poll=d.poll)
    assert state.poll == BOUNDS.minimum


def test_some_new_keeps_the_interval() -> None:
    d = run(due.State(poll=timedelta(minutes=7)), due.Poll(ok=True, links_seen=20, links_new=2))
    assert d.poll == timedelta(minutes=7)


def test_backoff_is_exponential_capped_and_resets_on_success() -> None:
    policy = due.Policy(backoff_cap=timedelta(hours=2), unhealthy_score=100)
    state, delays = due.State(), []
    for _ in range(8):
        d = due.decide(state, due.Poll(ok=False, failure_kinds=("connection",)), BOUNDS, T0, policy=policy,
                       rand=no_jitter)
        delays.append(d.next_due_at - T0)
        state = due.State(poll=d.poll, failure_score=d.failure_score, consecutive_failures=d.consecutive_failures)
    assert delays[:3] == [TEN_MIN * 2, TEN_MIN * 4, TEN_MIN * 8]
    assert delays[-1] == timedelta(hours=2) and state.consecutive_failures == 8
    recovered = due.decide(state, due.Poll(ok=True, links_seen=5, links_new=1), BOUNDS, T0, policy=policy,
                           rand=no_jitter)
    assert recovered.failure_score == 0 and recovered.consecutive_failures == 0
    assert recovered.next_due_at - T0 <= TEN_MIN


def test_a_timeout_weighs_less_than_a_missing_feed() -> None:
    timeout = run(due.State(), due.Poll(ok=False, failure_kinds=("timeout",)))
    missing = run(due.State(), due.Poll(ok=False, failure_kinds=("http_404",)))
    assert timeout.failure_score < missing.failure_score
    assert timeout.next_due_at < missing.next_due_at
    assert due.failure_weight(["timeout", "http_404"]) == due.FAILURE_WEIGHTS["http_404"]


def test_an_outlet_that_keeps_failing_is_unhealthy_and_not_hammered() -> None:
    state, now, tries = due.State(), T0, 0
    while tries < 50:
        d = run(state, due.Poll(ok=False, failure_kinds=("http_404",)), now)
        tries += 1
        state, now = due.State(poll=d.poll, failure_score=d.failure_score,
                               consecutive_failures=d.consecutive_failures), d.next_due_at
        if not d.healthy:
            break
    assert not d.healthy and tries == 3  # 3 x 3.0 >= 8
    later = run(state, due.Poll(ok=False, failure_kinds=("http_404",)), now)
    assert later.next_due_at - now >= due.DEFAULT_POLICY.backoff_cap
    assert run(state, due.Poll(ok=True, links_seen=1, links_new=1), now).healthy


def test_jitter_is_bounded() -> None:
    early = due.decide(due.State(), due.Poll(ok=True, links_seen=4, links_new=1), BOUNDS, T0, rand=lambda: 0.0)
    late = due.decide(due.State(), due.Poll(ok=True, links_seen=4, links_new=1), BOUNDS, T0, rand=lambda: 0.999)
    assert timedelta(0) < late.next_due_at - early.next_due_at <= due.DEFAULT_POLICY.max_jitter


def test_cron_outlet_is_due_at_its_next_fire_unless_backing_off() -> None:
    fire = T0 + timedelta(minutes=3)
    assert run(due.State(), due.Poll(ok=True), cron_next=fire).next_due_at == fire
    failed = run(due.State(failure_score=4), due.Poll(ok=False), cron_next=fire)
    assert failed.next_due_at > fire


@pytest.mark.parametrize("interval,expected", [
    (timedelta(minutes=10), (timedelta(minutes=5), timedelta(minutes=40))),
    (timedelta(seconds=30), (timedelta(seconds=30), timedelta(minutes=2))),
])
def test_default_bounds(interval: timedelta, expected) -> None:
    b = due.default_bounds(interval)
    assert (b.minimum, b.maximum) == expected
