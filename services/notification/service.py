"""The ``notifications`` Nameko service: thin entrypoints over
:mod:`services.notification.intake` (events in) and :mod:`services.notification.notifications`
(the HTTP API's use cases); the sending happens in :mod:`services.notification.delivery`."""

import eventlet
from nameko.dependency_providers import Config
from nameko.exceptions import RpcTimeout

from services.common.config import settings_from
from services.common.batches import consume_event_batches
from services.common.context import CallContextProvider
from services.common.dead_letters import ScreenedRpcProxy, rpc
from services.common.errors import EXPECTED_ERRORS
from services.common.metrics import ServiceMetrics
from services.common.work import UnitOfWorkProvider, idempotent
from services.notification import domain, intake, live, models, notifications
from services.notification.attachments import fetch_monthly_report
from services.notification.delivery import DeliveryWorkerProvider
from services.notification.links import SurveyLinks


class NotificationService:
    name = "notifications"

    context = CallContextProvider()
    uow = UnitOfWorkProvider("notification", models)
    monitoring = ServiceMetrics("notification")
    delivery = DeliveryWorkerProvider()
    survey_link = SurveyLinks()

    config = Config()
    reporting = ScreenedRpcProxy("reporting")

    # Nobody is told of what they did themselves: each batch is one actor's events.
    @consume_event_batches(domain.CONTRACT, same=("actor",))
    def handle_event(self, payloads):
        intake.handle_events(self.uow, payloads, self.delivery.email_enabled,
                             self.delivery.first_admin, self.survey_link, self._fetch_file)

    def _fetch_file(self, event_type, data) -> bytes:
        """The monthly report's PDF, in the pieces the reporting service hands it out in."""
        timeout = settings_from(self.config).rpc_timeout * 3
        with eventlet.Timeout(timeout, RpcTimeout("reporting.monthly_report_chunk")):
            return fetch_monthly_report(self.reporting, data["month"])

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def inbox(self, query=None):
        return notifications.inbox(self.uow, query or {})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def mark_read(self, entry_id, lang="en"):
        return notifications.mark_read(self.uow, entry_id, lang)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @live.settled
    @idempotent
    def create_webhook(self, webhook):
        return notifications.create_webhook(self.uow, webhook,
                                            self.delivery.options.allow_private_webhooks)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_webhooks(self):
        return notifications.list_webhooks(self.uow)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @live.settled
    @idempotent
    def delete_webhook(self, webhook_id):
        notifications.delete_webhook(self.uow, webhook_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def deliveries(self, query=None, webhook_id=None):
        return notifications.deliveries(self.uow, query or {}, webhook_id)

    @rpc
    def ping(self):
        return "pong"
