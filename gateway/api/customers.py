from flask import Blueprint, current_app

from gateway.api.endpoint import (
    call_context, endpoint, if_match, json_body, query_args, rpc, tagged,
)
from services.customer.schemas import (
    ChurnRiskQuerySchema, ChurnRiskSchema, CustomerDeleteSchema, CustomerFilterSchema,
    CustomerHistoryEntrySchema, CustomerInputSchema, CustomerSchema, CustomerUpdateSchema,
    FollowupInputSchema, FollowupQuerySchema, FollowupSchema, ReviewInputSchema,
)
from services.common.schemas import PageSchema, load_or_422, schema_of

blueprint = Blueprint("customers", __name__)


@endpoint(blueprint, "/customers", "POST",
          "Create a customer; its id is assigned. The owner is the caller unless a manager "
          "names a member of its team or an admin names anyone (others: 403 not_owner).",
          "customers.write", body=CustomerInputSchema, response=CustomerSchema, status=201,
          errors=(409, 422))
def create_customer():
    return rpc("customers", "create", json_body())


@endpoint(blueprint, "/customers", "GET", "List customers.", "customers.read",
          query=CustomerFilterSchema, response=CustomerSchema, paged=True, errors=(422,))
def list_customers():
    return rpc("customers", "list", query_args())


@endpoint(blueprint, "/customers/<customer_id>", "GET", "One customer.", "customers.read",
          response=CustomerSchema, errors=(404,))
def get_customer(customer_id):
    return tagged(rpc("customers", "get", customer_id))


@endpoint(blueprint, "/customers/<customer_id>", "PATCH",
          "Change some fields. Sales change the customers they own, a manager those of its "
          "team's members, an admin any (others: 403 not_owner); a new owner needs a manager "
          "within the team or an admin.",
          "customers.write", body=CustomerUpdateSchema, response=CustomerSchema,
          errors=(404, 409, 412, 422))
def update_customer(customer_id):
    return tagged(rpc("customers", "update", customer_id, json_body(),
                      expected_version=if_match()))


@endpoint(blueprint, "/customers/<customer_id>", "DELETE",
          "Delete a customer (its history stays); with purge=true, delete it for good with its "
          "follow-ups and change log, allowed once its last activity is older than "
          "RETENTION_YEARS (else 409 retention_period).",
          "customers.delete", query=CustomerDeleteSchema, status=204, errors=(404, 409, 422))
def delete_customer(customer_id):
    rpc("customers", "delete", customer_id, query_args())


@endpoint(blueprint, "/customers/<customer_id>/review", "POST",
          "A review step (双人校验 / 三级审核): 'verified' by a colleague other than the "
          "change's author (409 same_person), then 'approved' by a manager or admin (403 "
          "otherwise); 'rejected' at either step, with a note, sends it back to the author. "
          "A step out of order is 409 review_out_of_order.",
          "customers.review", body=ReviewInputSchema, response=CustomerSchema,
          errors=(403, 404, 409, 422))
def review_customer(customer_id):
    return tagged(rpc("customers", "review", customer_id, json_body()))


@endpoint(blueprint, "/customers/<customer_id>/history", "GET", "The change log, newest first.",
          "customers.read", response=CustomerHistoryEntrySchema, many=True, errors=(404,))
def customer_history(customer_id):
    return rpc("customers", "history", customer_id)


@endpoint(blueprint, "/customers/<customer_id>/followups", "POST",
          "Log a follow-up: its owner, a manager of the owner's team or an admin (others: "
          "403 not_owner).",
          "followups.write", body=FollowupInputSchema, response=FollowupSchema, status=201,
          errors=(404, 422))
def log_followup(customer_id):
    return rpc("customers", "log_followup", customer_id, json_body())


@endpoint(blueprint, "/customers/<customer_id>/followups", "GET", "A customer's follow-ups.",
          "followups.read", query=PageSchema, response=FollowupSchema, paged=True,
          errors=(404,))
def list_followups(customer_id):
    return rpc("customers", "list_followups", customer_id, query_args())



@endpoint(blueprint, "/followups", "GET",
          "Follow-ups across customers, newest first (经理查看团队成员的客户跟进情况): sales see "
          "their own, a manager its team's, admins all; filtered by owner, team, from/to "
          "(UTC days), outcome and channel.",
          "followups.read", query=FollowupQuerySchema, response=FollowupSchema, paged=True,
          errors=(422,), rules=("team names a team that has members.",))
def list_all_followups():
    query = query_args()
    # Checked here too: the gateway's own database reads ``team`` (a NUL there was a 500).
    team = load_or_422(schema_of(FollowupQuerySchema), query).get("team")
    members = None
    if team:  # the gateway keeps the teams; the service filters by their members
        members = current_app.extensions["deskflow"].users.team_members(team, call_context())
    return rpc("customers", "followups", query, team_members=members)


@endpoint(blueprint, "/reports/churn-risk", "GET",
          "The customers at risk of churning now (高价值客户流失预警): high- and mid-value "
          "customers without activity for CHURN_WARNING_DAYS (default 60), highest value "
          "first. The customer service answers: it owns the last activity and the value tier.",
          "reports.read", query=ChurnRiskQuerySchema, response=ChurnRiskSchema, paged=True,
          errors=(422,))
def churn_risk():
    return rpc("customers", "churn_risk", query_args())
