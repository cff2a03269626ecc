"""Workflow rules (writes: admins), their dry run, and the grade follow-up plan, which is a
view of the three shipped grade rules."""
from flask import Blueprint

from gateway.api.endpoint import endpoint, json_body, rpc
from services.customer.schemas import FollowupPlanSchema
from services.workflow.schemas import DryRunInputSchema, DryRunSchema, RuleInputSchema, RuleSchema

blueprint = Blueprint("workflow", __name__)


@endpoint(blueprint, "/workflow/rules", "GET", "The rules that make tasks.", "rules.read",
          response=RuleSchema, many=True)
def list_rules():
    return rpc("workflow", "list_rules")


@endpoint(blueprint, "/workflow/rules", "POST", "Add a rule; it applies to new occurrences.",
          "rules.write", body=RuleInputSchema, response=RuleSchema, status=201, errors=(422,))
def create_rule():
    return rpc("workflow", "create_rule", json_body())


@endpoint(blueprint, "/workflow/rules/dry-run", "POST", "The tasks a new or edited rule would "
          "have made from the events seen between from and to; nothing changes.",
          "rules.read", body=DryRunInputSchema, response=DryRunSchema, errors=(422,))
def dry_run():
    return rpc("workflow", "dry_run", json_body())


@endpoint(blueprint, "/workflow/rules/<key:rule_id>", "GET", "One rule.", "rules.read",
          response=RuleSchema, errors=(404,))
def get_rule(rule_id):
    return rpc("workflow", "get_rule", rule_id)


@endpoint(blueprint, "/workflow/rules/<key:rule_id>", "PUT", "Replace a rule (a new version); tasks "
          "already made keep their reason.", "rules.write", body=RuleInputSchema,
          response=RuleSchema, errors=(404, 422))
def update_rule(rule_id):
    return rpc("workflow", "update_rule", rule_id, json_body())


@endpoint(blueprint, "/workflow/rules/<key:rule_id>", "DELETE", "Delete a rule; its open tasks stay.",
          "rules.write", status=204, errors=(404,))
def delete_rule(rule_id):
    rpc("workflow", "delete_rule", rule_id)


@endpoint(blueprint, "/followup-plan", "GET", "Days between follow-ups per grade: the intervals "
          "of the grade follow-up rules.", "followups.read", response=FollowupPlanSchema)
def get_followup_plan():
    return rpc("workflow", "followup_plan")


@endpoint(blueprint, "/followup-plan", "PUT", "Change the grade follow-up rules' intervals.",
          "followups.plan", body=FollowupPlanSchema, response=FollowupPlanSchema,
          errors=(409, 422))
def set_followup_plan():
    return rpc("workflow", "set_followup_plan", json_body())
