"""Shared pieces of the collector tests: a test clock and polite sessions that run on it."""

from __future__ import annotations

from collections.abc import Iterator

from devtools.fake_openreview import FakeOpenReview, demo_venue
from extractor.collect.http import Politeness, PoliteSession, RateLimiter

VENUE = "NeurIPS.cc/2024/Conference"


class FakeClock:
    """Time that moves only when someone sleeps: the limiter's waits cost no wall-clock time."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


def polite(clock: FakeClock, *, default: float = 0.0, intervals: dict[str, float] | None = None,
           retries: int = 5) -> PoliteSession:
    """A polite session whose rate limiter reads and sleeps on ``clock``."""
    p = Politeness(intervals=intervals or {}, default=default, retries=retries)
    return PoliteSession(p, RateLimiter(p.intervals, default=default, clock=clock.now, sleep=clock.sleep))


def running_fake_openreview() -> Iterator[FakeOpenReview]:
    """A fake OpenReview with the demo venue, timestamping requests on its ``test_clock``."""
    clock = FakeClock()
    fake = FakeOpenReview(*demo_venue(VENUE), clock=clock.now).start()
    fake.test_clock = clock  # type: ignore[attr-defined]
    yield fake
    fake.stop()
