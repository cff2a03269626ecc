"""Tasks (任务): the caller's to-do list, assigning, completing and cancelling, and the
summary per assignee. A task the caller may not see is a 404."""
from flask import Blueprint

from gateway.api.endpoint import endpoint, if_match, json_body, query_args, rpc, tagged
from services.workflow.schemas import (
    CancelInputSchema, CompleteInputSchema, SummaryRowSchema, TaskFilterSchema, TaskInputSchema,
    TaskSchema, TaskUpdateSchema,
)

blueprint = Blueprint("tasks", __name__)


@endpoint(blueprint, "/tasks", "POST", "Make a task. Admins assign to anyone, managers within "
          "their team, everyone else only to themselves.", "tasks.write", body=TaskInputSchema,
          response=TaskSchema, status=201, errors=(403, 422, 503))
def create_task():
    response = tagged(rpc("workflow", "create_task", json_body()))
    response.status_code = 201
    return response


@endpoint(blueprint, "/tasks", "GET", "List tasks the caller may see; mine=true is the caller's "
          "to-do list (open, soonest due first, high priority first on ties).", "tasks.read",
          query=TaskFilterSchema, response=TaskSchema, paged=True, errors=(422,))
def list_tasks():
    return rpc("workflow", "list_tasks", query_args())


@endpoint(blueprint, "/tasks/summary", "GET", "Per assignee: open, due today, overdue, done in "
          "the last 7 days (scoped like the list).", "tasks.read", response=SummaryRowSchema,
          many=True)
def task_summary():
    return rpc("workflow", "task_summary")


@endpoint(blueprint, "/tasks/<key:task_id>", "GET", "One task; its ETag is its version.",
          "tasks.read", response=TaskSchema, errors=(404,))
def get_task(task_id):
    return tagged(rpc("workflow", "get_task", task_id))


@endpoint(blueprint, "/tasks/<key:task_id>", "PATCH", "Change title, description, due date or "
          "priority; the assignee only by admins and managers. Send If-Match with the ETag you "
          "read: a task changed since is 412 stale.", "tasks.write", body=TaskUpdateSchema,
          response=TaskSchema, errors=(403, 404, 409, 412, 422))
def update_task(task_id):
    return tagged(rpc("workflow", "update_task", task_id, json_body(),
                      expected_version=if_match()))


@endpoint(blueprint, "/tasks/<key:task_id>/complete", "POST", "Complete an open task with a note "
          "(完成情况说明): the assignee, their manager or an admin.", "tasks.write",
          body=CompleteInputSchema, response=TaskSchema, errors=(403, 404, 409, 422))
def complete_task(task_id):
    return tagged(rpc("workflow", "complete_task", task_id, json_body()))


@endpoint(blueprint, "/tasks/<key:task_id>/cancel", "POST", "Cancel an open task with a reason: "
          "the creator, a manager or an admin.", "tasks.write", body=CancelInputSchema,
          response=TaskSchema, errors=(403, 404, 409, 422))
def cancel_task(task_id):
    return tagged(rpc("workflow", "cancel_task", task_id, json_body()))
