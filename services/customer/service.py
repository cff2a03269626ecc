"""The ``customers`` Nameko service: thin entrypoints over :mod:`services.customer.customers`."""
from datetime import datetime

from nameko.dependency_providers import Config
from nameko.timer import timer

from services.common.config import settings_from
from services.common.consumers import consume_command, consume_event
from services.common.context import CallContextProvider
from services.common.dead_letters import rpc
from services.common.errors import EXPECTED_ERRORS
from services.common.events import parse_command, parse_envelope
from services.common.outbox import UnitOfWorkProvider, idempotent
from services.common.periodic import setting_timer
from services.common.schemas import load_or_422, schema_of
from services.customer import customers, models, retention
from services.customer.schemas import CustomerDeleteSchema

OVERDUE_SWEEP_SECONDS = 60


class CustomerService:
    name = "customers"

    context = CallContextProvider()
    uow = UnitOfWorkProvider("customer", models)
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
    def followup_plan(self):
        return customers.followup_plan(self.uow.session)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def set_followup_plan(self, plan):
        return customers.set_followup_plan(self.uow, plan)

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

    @timer(interval=OVERDUE_SWEEP_SECONDS)
    def remind_overdue_followups(self):
        customers.remind_overdue_followups(self.uow)

    @consume_event("tickets", "ticket.created")
    @consume_event("tickets", "ticket.transitioned")
    @consume_event("tickets", "ticket.commented")
    def ticket_activity(self, payload):
        """Ticket activity is contact: it keeps the customer's lifecycle status fresh."""
        envelope = parse_envelope(payload)
        if self.uow.claim("customers.ticket_activity", envelope["id"]):
            customers.record_activity(self.uow, envelope["data"]["ticket"]["customer_id"],
                                      datetime.fromisoformat(envelope["occurred_at"]))
        self.uow.commit()
