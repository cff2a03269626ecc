"""Background loops: the outbox relay, the notification delivery rounds, Nameko timers
paced by a setting, and a method run once when a container starts."""
import logging

from nameko.extensions import Entrypoint
from nameko.timer import Timer

from services.common.config import settings_from

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


class SettingTimer(Timer):
    """A Nameko timer whose interval is one of the container's settings, named when it is
    declared: ``@setting_timer("sla_sweep_seconds")`` (a plain ``@timer`` fixes its
    interval when the class is defined, before the settings are known)."""

    def __init__(self, setting: str, **kwargs):
        self.setting = setting
        super().__init__(interval=None, **kwargs)

    def setup(self):
        self.interval = getattr(settings_from(self.container.config), self.setting)


setting_timer = SettingTimer.decorator


class Once(Entrypoint):
    """Runs its method once, as a worker, when the container starts: ``@once``."""

    def start(self):
        self.container.spawn_managed_thread(
            lambda: self.container.spawn_worker(self, (), {}))


once = Once.decorator
