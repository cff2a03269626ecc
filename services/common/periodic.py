"""Background loops: the outbox relay, the notification delivery rounds."""
import logging

log = logging.getLogger(__name__)


def run_every(interval: float, work, keep_going, sleep, what: str) -> None:
    """Call ``work()`` every ``interval`` seconds while ``keep_going()``; a failed round is
    logged and the next one tries again. The flag, not an error, ends the loop: a container
    kill that lands inside a database call can surface as an ordinary error."""
    while keep_going():
        sleep(interval)
        if not keep_going():
            return
        try:
            work()
        except Exception:
            log.warning("%s failed; retrying", what, exc_info=True)
