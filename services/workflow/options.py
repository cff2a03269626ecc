"""The workflow service's settings, read in this one place.

Each comes from the container's config (tests set them there), else the environment, else
its default."""
import os
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

from services.common.config import settings_from

DEFAULTS = {
    # task.due_soon goes out this long before a task is due.
    "TASK_REMIND_BEFORE_SECONDS": 3600.0,
    # How often the reminder and schedule sweeps run.
    "WORKFLOW_SWEEP_SECONDS": 5.0,
    # The time zone of rules that name none: day offsets and calendar schedules use it.
    # Set it to the zone of the SLA policy's business calendar when that names another.
    "WORKFLOW_TIME_ZONE": "Asia/Shanghai",
}


@dataclass(frozen=True)
class WorkflowOptions:
    remind_before: timedelta
    sweep_seconds: float
    time_zone: str
    admin_username: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def workflow_options(config: dict, environ=None) -> WorkflowOptions:
    environ = os.environ if environ is None else environ

    def value(name):
        default = DEFAULTS[name]
        given = config.get(name, environ.get(name))
        return default if given in (None, "") else type(default)(given)

    return WorkflowOptions(
        remind_before=timedelta(seconds=value("TASK_REMIND_BEFORE_SECONDS")),
        sweep_seconds=value("WORKFLOW_SWEEP_SECONDS"),
        time_zone=value("WORKFLOW_TIME_ZONE"),
        admin_username=settings_from(config).admin_username,
    )


class OptionsProvider(DependencyProvider):
    def setup(self):
        self.options = workflow_options(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.options
