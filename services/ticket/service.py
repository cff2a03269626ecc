"""The ``tickets`` Nameko service: thin entrypoints over the use cases in
:mod:`~services.ticket.tickets`, :mod:`~services.ticket.working`, :mod:`~services.ticket.ratings`,
:mod:`~services.ticket.policy`, :mod:`~services.ticket.sweep`, :mod:`~services.ticket.metrics`
and, for the customer events it keeps a view of, :mod:`~services.ticket.customers`."""
from nameko.dependency_providers import Config

from services.common.attachment_entrypoints import AttachmentEntrypoints
from services.common.batches import consume_event_batches
from services.common.config import settings_from
from services.common.consumers import consume_command
from services.common.context import CallContextProvider
from services.common.dead_letters import rpc
from services.common.errors import EXPECTED_ERRORS
from services.common.events import parse_command
from services.common.lookups import Lookup
from services.common.metrics import ServiceMetrics
from services.common.periodic import setting_timer
from services.common.wakeups import SweepGate
from services.common.work import UnitOfWorkProvider, idempotent
from services.ticket import (
    archive, attachments, customers, departments, metrics, models, policy, ratings, surveys, sweep,
    tickets, working,
)
from services.ticket.schemas import TicketAttachmentSchema


class TicketService(AttachmentEntrypoints):
    name = "tickets"
    attachment_model = models.TicketAttachment
    attachment_schema = TicketAttachmentSchema
    attachment_removed = "ticket.attachment_removed"

    context = CallContextProvider()
    uow = UnitOfWorkProvider("ticket", models)
    monitoring = ServiceMetrics("ticket", business=metrics.families)
    find_customer = Lookup("customers", "customer_id")
    config = Config()
    sweep_gate = SweepGate(models.SlaClock, models.Ticket)

    def survey_options(self) -> surveys.SurveyOptions:
        return surveys.SurveyOptions.from_settings(settings_from(self.config))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def create(self, ticket):
        return tickets.create_ticket(self.uow, ticket, self.find_customer)

    @consume_event_batches(customers.CONSUMED)
    def learn_customers(self, payloads):
        """The customers' owner, email and language, for the tickets made for them."""
        customers.learn_customers(self.uow, payloads)

    @consume_command("ticket.create")
    def create_command(self, command):
        """Another system opens a ticket over the queue (``deskflow.commands``)."""
        command = parse_command(command)
        tickets.create_ticket(self.uow, command["data"], self.find_customer, command["id"])

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get(self, ticket_id):
        return tickets.get_ticket(self.uow, ticket_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list(self, query=None):
        return tickets.list_tickets(self.uow, query or {})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def update(self, ticket_id, changes, expected_version=None):
        return working.update_ticket(self.uow, ticket_id, changes, expected_version)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def transition(self, ticket_id, transition, expected_version=None):
        return working.transition_ticket(self.uow, ticket_id, transition, self.survey_options(),
                                         expected_version)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def comment(self, ticket_id, comment):
        return working.add_comment(self.uow, ticket_id, comment)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def hold(self, ticket_id, hold, expected_version=None):
        return working.hold_ticket(self.uow, ticket_id, hold, expected_version)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def resume(self, ticket_id, expected_version=None):
        return working.resume_ticket(self.uow, ticket_id, expected_version)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def rate(self, ticket_id, rating):
        return ratings.rate_ticket(self.uow, ticket_id, rating)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def add_attachment(self, ticket_id, claim):
        """Record a file the gateway has put in the attachment store (a claim check)."""
        return attachments.add_attachment(self.uow, ticket_id, claim)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_attachments(self, ticket_id):
        return attachments.list_attachments(self.uow, ticket_id)

    def attachment_parent(self, attachment):
        """A removal event carries the ticket, as every ticket event does."""
        return {"ticket": tickets.get_ticket(self.uow, attachment.ticket_id)}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def history(self, ticket_id):
        return tickets.ticket_history(self.uow, ticket_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def survey_link(self, survey_id):
        return surveys.issue_link(self.uow, survey_id, self.survey_options())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def survey(self, token, address):
        return surveys.show_survey(self.uow, token, address, self.survey_options())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def answer_survey(self, token, answers, address):
        return surveys.answer_survey(self.uow, token, answers, address, self.survey_options())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def departments(self):
        return departments.get_departments(self.uow)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def set_departments(self, new_list):
        return departments.set_departments(self.uow, new_list)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def sla_policy(self):
        return policy.current_policy(self.uow.session)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def set_sla_policy(self, new_policy):
        return policy.set_policy(self.uow, new_policy)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def metrics(self):
        return metrics.metrics(self.uow)

    @rpc
    def ping(self):
        return "pong"

    @setting_timer("sla_sweep_seconds")
    def sweep_sla_clocks(self):
        """Every ``SLA_SWEEP_SECONDS``, when something may be due (:class:`SweepGate`):
        emit due warnings, breaches and delay notices."""
        self.sweep_gate.run(self.uow.now(), lambda: sweep.sweep_all(self.uow),
                            lambda: sweep.next_due(self.uow))

    @setting_timer("maintenance_check_seconds")
    def archive_closed_tickets(self):
        """Once a month (checked every ``MAINTENANCE_CHECK_SECONDS``): closed tickets older
        than ``ARCHIVE_AFTER_MONTHS`` move to the archive."""
        archive.archive_due(self.uow, settings_from(self.config).archive_after_months)
