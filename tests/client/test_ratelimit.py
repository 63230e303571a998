"""The client-side limiter never lets more than the budget through in any window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kieframe._ratelimit import RateLimits, SlidingWindow, shared_budgets


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@given(
    limit=st.integers(1, 20),
    window=st.floats(0.5, 10),
    gaps=st.lists(st.floats(0, 3), min_size=1, max_size=80),
)
def test_no_window_holds_more_than_the_limit(limit: int, window: float, gaps: list[float]) -> None:
    clock = FakeClock()
    limiter = SlidingWindow(limit, window, clock=clock)
    sends: list[float] = []
    for gap in gaps:
        clock.now += gap
        sends.append(clock.now + limiter.reserve())
    sends.sort()
    for i, start in enumerate(sends):
        inside = [t for t in sends[i:] if t < start + window - 1e-9]
        assert len(inside) <= limit


def test_free_slots_cost_nothing() -> None:
    limiter = SlidingWindow(3, 1.0, clock=FakeClock())
    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve() == 1.0


def test_penalty_holds_everything_back() -> None:
    clock = FakeClock()
    limiter = SlidingWindow(5, 1.0, clock=clock)
    limiter.penalise(4.0)
    assert limiter.reserve() == 4.0


def test_off_means_unlimited() -> None:
    budgets = shared_budgets("h", "k", RateLimits.off())
    assert all(budgets.reserve("create") == 0 for _ in range(100))
    assert all(budgets.reserve("read") == 0 for _ in range(100))


def test_clients_with_one_key_share_a_budget() -> None:
    limits = RateLimits(creates=1, create_window=60.0)
    first = shared_budgets("https://api.kie.ai", "key-a", limits)
    assert first.reserve("create") == 0
    # The second client with that key waits for the slot the first one took; another key does not.
    assert shared_budgets("https://api.kie.ai", "key-a", limits).reserve("create") > 0
    assert shared_budgets("https://api.kie.ai", "key-b", limits).reserve("create") == 0
