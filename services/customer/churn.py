"""Churn warning (高价值客户流失预警): a high- or mid-value customer without activity for
``CHURN_WARNING_DAYS`` emits ``customer.churn_risk`` once per quiet spell (the notification
service tells its owner, their managers and the admins; a default workflow rule opens a
win-back task, 挽回), and the customers at risk now are listed highest value first."""
from sqlalchemy import or_, select

from services.common.db import count
from services.common.schemas import load_or_422, page_of, schema_of
from services.customer import domain
from services.customer.customers import present
from services.customer.models import Customer
from services.customer.schemas import ChurnRiskQuerySchema, ChurnRiskSchema

WARN_BATCH = 200


def _at_risk(cutoff):
    return select(Customer).where(Customer.deleted_at.is_(None),
                                  Customer.deal_amount >= domain.MID_VALUE,
                                  Customer.last_activity_at <= cutoff)


def warn_quiet_customers(uow, warning_days: int, batch: int = WARN_BATCH) -> int:
    """Emit ``customer.churn_risk`` for each customer whose quiet spell has not been warned
    of yet, batch by batch (rows another sweeper holds are skipped); returns how many."""
    warned = 0
    while True:
        now = uow.now()
        rows = uow.session.scalars(
            _at_risk(domain.churn_cutoff(now, warning_days))
            .where(or_(Customer.churn_warned_for.is_(None),
                       Customer.churn_warned_for != Customer.last_activity_at))
            .order_by(Customer.id).limit(batch).with_for_update(skip_locked=True)).all()
        for customer in rows:
            shown = present(customer, now)
            if not domain.churn_warning_due(shown["value_tier"], customer.last_activity_at,
                                            customer.churn_warned_for, now, warning_days):
                continue
            customer.churn_warned_for = customer.last_activity_at
            uow.emit("customer.churn_risk", {"customer": shown, "risk": {
                "value_tier": shown["value_tier"], "deal_amount": shown["deal_amount"],
                "last_activity_at": shown["last_activity_at"], "owner": customer.owner,
                "quiet_days": domain.quiet_days(customer.last_activity_at, now),
                "warning_days": warning_days}})
            warned += 1
        uow.commit()
        if len(rows) < batch:
            return warned


def customers_at_risk(uow, query: dict, warning_days: int) -> dict:
    """The customers at risk now, highest value first (the longest quiet first on ties)."""
    filters = load_or_422(schema_of(ChurnRiskQuerySchema), query)
    page, per_page, now = filters["page"], filters["per_page"], uow.now()
    statement = _at_risk(domain.churn_cutoff(now, warning_days))
    if "owner" in filters:
        statement = statement.where(Customer.owner == filters["owner"])
    if filters.get("value_tier") == "high":
        statement = statement.where(Customer.deal_amount >= domain.HIGH_VALUE)
    elif filters.get("value_tier") == "mid":
        statement = statement.where(Customer.deal_amount < domain.HIGH_VALUE)
    rows = uow.session.scalars(
        statement.order_by(Customer.deal_amount.desc(), Customer.last_activity_at,
                           Customer.id).offset((page - 1) * per_page).limit(per_page))
    items = [{"customer_id": row.id, "name": row.name, "owner": row.owner,
              "value_tier": domain.value_tier(row.deal_amount), "deal_amount": row.deal_amount,
              "last_activity_at": row.last_activity_at,
              "quiet_days": domain.quiet_days(row.last_activity_at, now),
              "status": domain.lifecycle_status(row.last_activity_at, now)} for row in rows]
    return page_of(schema_of(ChurnRiskSchema, many=True).dump(items),
                   count(uow.session, statement), page, per_page)
