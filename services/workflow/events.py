"""The events the workflow service emits (exchange ``workflow.events``); see
:mod:`services.common.events`."""
from marshmallow import fields

from services.common.events import Catalogue
from services.common.schemas import FieldChangeSchema
from services.customer.schemas import FollowupPlanSchema
from services.workflow.schemas import TaskSchema

EVENTS = Catalogue("workflow")


def _declare(event_type: str, summary: str, **members) -> None:
    """Every task event carries the whole task as it is after the change."""
    EVENTS.declare(event_type, summary, task=fields.Nested(TaskSchema, required=True), **members)


def _people():
    return fields.List(fields.String(), required=True)


_declare("task.created", "A task was made, by a person or a rule.")
_declare("task.updated", "Fields of a task changed.",
         changes=fields.List(fields.Nested(FieldChangeSchema), required=True))
_declare("task.completed", "A task was completed.")
_declare("task.cancelled", "A task was cancelled.")
_declare("task.due_soon", "A task falls due within TASK_REMIND_BEFORE_SECONDS (once).",
         notify=_people())
_declare("task.overdue", "A task passed its due date (once).", notify=_people(),
         escalated_to=_people())
EVENTS.declare("followup.plan_changed", "The grade follow-up rules' intervals changed.",
               plan=fields.Nested(FollowupPlanSchema, required=True))
