"""One injectable source of time, so tests move time instead of sleeping."""
from datetime import datetime, timedelta, timezone

CLOCK_CONFIG_KEY = "DESKFLOW_CLOCK"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class ManualClock:
    """A clock that only moves when told to; for tests."""

    def __init__(self, start: datetime | None = None):
        self._now = start or utcnow()

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        self._now = moment


def clock_from(config: dict):
    return config.get(CLOCK_CONFIG_KEY) or SystemClock()
