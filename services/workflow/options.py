"""The workflow service's settings (from :mod:`services.common.config`), as its use cases
take them."""
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

from services.common.config import Settings, settings_from


@dataclass(frozen=True)
class WorkflowOptions:
    remind_before: timedelta
    time_zone: str
    admin_username: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @classmethod
    def from_settings(cls, settings: Settings) -> "WorkflowOptions":
        return cls(remind_before=timedelta(seconds=settings.task_remind_before_seconds),
                   time_zone=settings.workflow_time_zone,
                   admin_username=settings.admin_username)


class OptionsProvider(DependencyProvider):
    def setup(self):
        self.options = WorkflowOptions.from_settings(settings_from(self.container.config))

    def get_dependency(self, worker_ctx):
        return self.options
