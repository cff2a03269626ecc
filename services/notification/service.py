"""The ``notifications`` Nameko service: thin entrypoints over
:mod:`services.notification.notifications`; the sending happens in
:mod:`services.notification.delivery`."""

from services.common.consumers import consume_events
from services.common.context import CallContextProvider
from services.common.dead_letters import rpc
from services.common.errors import EXPECTED_ERRORS
from services.common.metrics import ServiceMetrics
from services.common.outbox import UnitOfWorkProvider, idempotent
from services.notification import domain, models, notifications
from services.notification.delivery import DeliveryWorkerProvider
from services.notification.links import SurveyLinks


class NotificationService:
    name = "notifications"

    context = CallContextProvider()
    uow = UnitOfWorkProvider("notification", models)
    monitoring = ServiceMetrics("notification")
    delivery = DeliveryWorkerProvider()
    survey_link = SurveyLinks()

    @consume_events(domain.CONTRACT)
    def handle_event(self, payload):
        notifications.handle_event(self.uow, payload, self.delivery.email_enabled,
                                   self.delivery.first_admin, self.survey_link)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def inbox(self, query=None):
        return notifications.inbox(self.uow, query or {})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def mark_read(self, entry_id, lang="en"):
        return notifications.mark_read(self.uow, entry_id, lang)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def create_webhook(self, webhook):
        return notifications.create_webhook(self.uow, webhook,
                                            self.delivery.options.allow_private_webhooks)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_webhooks(self):
        return notifications.list_webhooks(self.uow)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def delete_webhook(self, webhook_id):
        notifications.delete_webhook(self.uow, webhook_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def deliveries(self, query=None, webhook_id=None):
        return notifications.deliveries(self.uow, query or {}, webhook_id)

    @rpc
    def ping(self):
        return "pong"
