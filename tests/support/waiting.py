"""Polling with a deadline, for effects that happen asynchronously."""
import time


def wait_until(probe, timeout: float = 20, interval: float = 0.1, message: str = ""):
    """Call ``probe`` until it returns something truthy; return that, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {message or probe}")
        time.sleep(interval)
