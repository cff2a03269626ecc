"""The ``reporting`` Nameko service: consumes the customer and ticket events into its read
model, a batch of deliveries per transaction (:mod:`services.common.batches`), and answers
reports; thin entrypoints over :mod:`services.reporting.reports`."""

from nameko.dependency_providers import Config

from services.common.config import settings_from
from services.common.batches import consume_event_batch
from services.common.context import CallContextProvider
from services.common.dead_letters import rpc
from services.common.errors import EXPECTED_ERRORS
from services.common.metrics import ServiceMetrics
from services.common.periodic import setting_timer
from services.common.work import UnitOfWorkProvider
from services.reporting import models, monthly, reports


class ReportingService:
    name = "reporting"

    config = Config()
    context = CallContextProvider()
    uow = UnitOfWorkProvider("reporting", models)
    monitoring = ServiceMetrics("reporting")

    @consume_event_batch("customers", "customer.*")
    def on_customer_event(self, payloads):
        reports.consume_batch(self.uow, payloads)

    @consume_event_batch("customers", "followup.logged")
    def on_followup_logged(self, payloads):
        reports.consume_batch(self.uow, payloads)

    @consume_event_batch("tickets", "ticket.*")
    def on_ticket_event(self, payloads):
        reports.consume_batch(self.uow, payloads)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def summary(self, query=None):
        return reports.summary(self.uow, query or {})

    @consume_event_batch("workflow", "task.created")
    @consume_event_batch("workflow", "task.completed")
    @consume_event_batch("workflow", "task.overdue")
    def on_task_event(self, payloads):
        reports.consume_batch(self.uow, payloads)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def trend(self, query=None):
        return reports.trend(self.uow, query or {})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def export(self, query=None):
        return reports.export(self.uow, query or {}, settings_from(self.config))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def export_outline(self, query=None):
        return reports.export_outline(self.uow, query or {})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def export_rows(self, query=None):
        return reports.export_rows(self.uow, query or {})

    @setting_timer("monthly_report_check_seconds")
    def build_monthly_report_due(self):
        monthly.build_due(self.uow, settings_from(self.config))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def build_monthly_report(self, month):
        return monthly.build(self.uow, month, settings_from(self.config))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def monthly_reports(self):
        return monthly.listing(self.uow)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def monthly_report_chunk(self, month, offset=0):
        return monthly.chunk(self.uow, month, offset)

    @rpc
    def ping(self):
        return "pong"
