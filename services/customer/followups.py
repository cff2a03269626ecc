"""Follow-ups across customers (经理查看团队成员的客户跟进情况): a page of follow-ups filtered
by owner, team, day range, outcome and channel, within what the caller may see."""
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from services.common.db import count
from services.common.schemas import load_or_422, page_of, schema_of
from services.customer import domain
from services.customer.models import Customer, Followup
from services.customer.schemas import FollowupQuerySchema, FollowupSchema


def _day_start(day) -> datetime:
    return datetime.combine(day, time(), timezone.utc)


def list_all_followups(uow, query: dict, team_members: list[str] | None = None) -> dict:
    """``team_members`` are the usernames of the ``team`` the query names: the gateway,
    which keeps the teams, reads them for the request."""
    filters = load_or_422(schema_of(FollowupQuerySchema), query)
    page, per_page = filters.pop("page"), filters.pop("per_page")
    statement = select(Followup).join(Customer, Customer.id == Followup.customer_id).where(
        Customer.deleted_at.is_(None))
    visible = domain.visible_followup_owners(uow.context)
    if visible is not None:
        statement = statement.where(Followup.owner.in_(visible))
    if "team" in filters:
        statement = statement.where(Followup.owner.in_(sorted(team_members or ())))
    for name in ("owner", "outcome", "channel"):
        if name in filters:
            statement = statement.where(getattr(Followup, name) == filters[name])
    if "start" in filters:
        statement = statement.where(Followup.at >= _day_start(filters["start"]))
    if "end" in filters:
        statement = statement.where(Followup.at < _day_start(filters["end"] + timedelta(days=1)))
    rows = uow.session.scalars(statement.order_by(Followup.at.desc(), Followup.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
    return page_of(schema_of(FollowupSchema, many=True).dump(rows),
                   count(uow.session, statement), page, per_page)
