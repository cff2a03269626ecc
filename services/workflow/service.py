"""The ``workflow`` Nameko service: thin entrypoints over :mod:`services.workflow.tasks`,
:mod:`~services.workflow.rulebook`, :mod:`~services.workflow.learning` and
:mod:`~services.workflow.scheduling`."""
from services.common.batches import consume_event_batches
from services.common.context import CallContextProvider
from services.common.dead_letters import rpc
from services.common.errors import EXPECTED_ERRORS
from services.common.lookups import Lookup
from services.common.metrics import ServiceMetrics
from services.common.periodic import once, setting_timer
from services.common.wakeups import SweepGate
from services.common.work import UnitOfWorkProvider, idempotent
from services.workflow import dryrun, learning, metrics, models, rulebook, scheduling, tasks
from services.workflow.options import OptionsProvider

# The events the workflow learns from, by source.
CONSUMED = {
    "customers": ("customer.created", "customer.updated", "customer.deleted", "followup.logged",
                  "customer.churn_risk"),
    "tickets": ("ticket.created", "ticket.updated", "ticket.assigned", "ticket.transitioned",
                "ticket.commented", "ticket.rated", "ticket.dissatisfied"),
    "gateway": ("user.created", "user.updated"),
}


class WorkflowService:
    name = "workflow"

    context = CallContextProvider()
    uow = UnitOfWorkProvider("workflow", models)
    monitoring = ServiceMetrics("workflow", business=metrics.families)
    options = OptionsProvider()
    find_customer = Lookup("customers", "customer_id")
    find_ticket = Lookup("tickets", "ticket_id")
    sweep_gate = SweepGate(models.Schedule, models.Task)

    # --- tasks
    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def create_task(self, task):
        return tasks.create_task(self.uow, self.options, task, self.find_customer,
                                 self.find_ticket)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_tasks(self, query=None):
        return tasks.list_tasks(self.uow, query or {})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_task(self, task_id):
        return tasks.get_task(self.uow, task_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def update_task(self, task_id, changes, expected_version=None):
        return tasks.update_task(self.uow, self.options, task_id, changes, expected_version)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def complete_task(self, task_id, completion):
        return tasks.complete_task(self.uow, self.options, task_id, completion)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def cancel_task(self, task_id, cancellation):
        return tasks.cancel_task(self.uow, self.options, task_id, cancellation)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def task_summary(self):
        return tasks.summary(self.uow, self.options)

    # --- rules
    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_rules(self):
        return rulebook.list_rules(self.uow, self.options)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_rule(self, rule_id):
        return rulebook.get_rule(self.uow, self.options, rule_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def create_rule(self, rule):
        return rulebook.create_rule(self.uow, self.options, rule)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def update_rule(self, rule_id, rule):
        return rulebook.update_rule(self.uow, self.options, rule_id, rule)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def delete_rule(self, rule_id):
        rulebook.delete_rule(self.uow, self.options, rule_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def dry_run(self, request):
        return dryrun.dry_run(self.uow, self.options, request)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def followup_plan(self):
        return rulebook.followup_plan(self.uow)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def set_followup_plan(self, plan):
        return rulebook.set_followup_plan(self.uow, self.options, plan)

    @rpc
    def ping(self):
        return "pong"

    # --- on their own
    # The tasks' events carry who acted (their header), as the event that made them did.
    @consume_event_batches(CONSUMED, same=("actor",))
    def handle_event(self, payloads):
        learning.handle_events(self.uow, self.options, payloads)

    @once
    def make_default_rules(self):
        rulebook.ensure_defaults(self.uow)

    @setting_timer("workflow_sweep_seconds")
    def sweep(self):
        """Every ``WORKFLOW_SWEEP_SECONDS``, when something may be due (:class:`SweepGate`):
        due schedule occurrences, then due reminders."""
        self.sweep_gate.run(self.uow.now(), lambda: scheduling.sweep_all(self.uow, self.options),
                            lambda: scheduling.next_due(self.uow))
