"""The ``customers`` Nameko service: thin entrypoints over :mod:`services.customer.customers`
and, for the events it consumes, :mod:`services.customer.consumed`."""
from nameko.dependency_providers import Config

from services.common.attachment_entrypoints import AttachmentEntrypoints
from services.common.config import settings_from
from services.common.batches import consume_event_batch
from services.common.consumers import consume_command
from services.common.context import CallContextProvider
from services.common.dead_letters import rpc
from services.common.errors import EXPECTED_ERRORS
from services.common.events import parse_command
from services.common.metrics import ServiceMetrics
from services.common.periodic import setting_timer
from services.common.schemas import load_or_422, schema_of
from services.common.work import UnitOfWorkProvider, idempotent
from services.customer import (
    attachments, churn, consumed, customers, followups, models, retention, reviews,
)
from services.customer.schemas import CustomerAttachmentSchema, CustomerDeleteSchema


class CustomerService(AttachmentEntrypoints):
    name = "customers"
    attachment_model = models.CustomerAttachment
    attachment_schema = CustomerAttachmentSchema
    attachment_removed = "customer.attachment_removed"

    context = CallContextProvider()
    uow = UnitOfWorkProvider("customer", models)
    monitoring = ServiceMetrics("customer")
    config = Config()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def create(self, customer):
        return customers.create_customer(self.uow, customer)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get(self, customer_id):
        return customers.get_customer(self.uow, customer_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list(self, query=None):
        return customers.list_customers(self.uow, query or {})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def update(self, customer_id, changes, expected_version=None):
        return customers.update_customer(self.uow, customer_id, changes, expected_version)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def delete(self, customer_id, query=None):
        """A soft delete; with ``purge`` a deletion for good (:mod:`.retention`)."""
        if load_or_422(schema_of(CustomerDeleteSchema), query or {})["purge"]:
            retention.purge_customer(self.uow, customer_id,
                                     settings_from(self.config).retention_years)
        else:
            customers.delete_customer(self.uow, customer_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def review(self, customer_id, decision):
        return reviews.review_customer(self.uow, customer_id, decision)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def history(self, customer_id):
        return customers.customer_history(self.uow, customer_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def log_followup(self, customer_id, followup):
        return customers.log_followup(self.uow, customer_id, followup)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_followups(self, customer_id, query=None):
        return customers.list_followups(self.uow, customer_id, query or {})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def followups(self, query=None, team_members=None):
        return followups.list_all_followups(self.uow, query or {}, team_members)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def add_attachment(self, customer_id, claim, followup_id=None):
        """Record a file the gateway has put in the attachment store (a claim check)."""
        return attachments.add_attachment(self.uow, customer_id, claim, followup_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_attachments(self, customer_id, followup_id=None):
        return attachments.list_attachments(self.uow, customer_id, followup_id)

    @consume_command("customer.upsert")
    def upsert_command(self, command):
        customers.upsert_customer(self.uow, parse_command(command))

    @rpc
    def ping(self):
        return "pong"

    @setting_timer("maintenance_check_seconds")
    def purge_expired_customers(self):
        """Once a month (checked every ``MAINTENANCE_CHECK_SECONDS``): soft-deleted customers
        past ``RETENTION_YEARS`` are erased with their follow-ups and change log."""
        retention.purge_due(self.uow, settings_from(self.config).retention_years)

    @setting_timer("maintenance_check_seconds")
    def warn_churn_risk(self):
        """Every ``MAINTENANCE_CHECK_SECONDS`` (so at least daily): high- and mid-value
        customers quiet for ``CHURN_WARNING_DAYS`` are warned of, once per quiet spell."""
        churn.warn_quiet_customers(self.uow, settings_from(self.config).churn_warning_days)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def churn_risk(self, query=None):
        return churn.customers_at_risk(self.uow, query or {},
                                       settings_from(self.config).churn_warning_days)

    @consume_event_batch("workflow", "followup.plan_changed")
    def followup_plan_changed(self, payloads):
        """The plan is the workflow's grade rules; next follow-up dates shown here follow it."""
        consumed.apply_followup_plans(self.uow, payloads)

    @consume_event_batch("tickets", "ticket.created")
    @consume_event_batch("tickets", "ticket.transitioned")
    @consume_event_batch("tickets", "ticket.commented")
    def ticket_activity(self, payloads):
        """Ticket activity is contact: it keeps the customer's lifecycle status fresh."""
        consumed.record_ticket_activity(self.uow, payloads)
