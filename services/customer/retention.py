"""Retention (``RETENTION_YEARS``, default 3): a customer is deleted for good only once its
newest activity — its last change or deletion, its last contact (follow-up or ticket), the
recording of its newest follow-up, the upload of its newest attachment — is older than that,
and its follow-ups, attachments and change log go with it (the files themselves leave the
attachment store once no attachment anywhere points at them: ``gateway.attachment_gc``).
So no customer, follow-up or attachment younger than the retention period is ever erased.

- Once a month, soft-deleted customers past the period are erased (:func:`purge_due`).
- An admin erases one past the period at once with ``DELETE /customers/<id>?purge=true``
  (:func:`purge_customer`); a customer not yet deleted is soft-deleted first, so the other
  services hear ``customer.deleted`` as for any deletion. Younger: 409 ``retention_period``
  naming the first day it may go."""
from datetime import datetime

from sqlalchemy import delete, exists, func, select

from services.common.db import one_or_404
from services.common.errors import RetentionPeriod
from services.common.retention import run_monthly, years_after, years_before
from services.customer.customers import soft_delete
from services.customer.models import Customer, CustomerAttachment, CustomerChange, Followup

PURGE_JOB = "customers.purge"
PURGE_BATCH = 200


def newest_activity(session, customer: Customer) -> datetime:
    followed_up = session.scalar(select(func.max(Followup.created_at))
                                 .where(Followup.customer_id == customer.id))
    attached = session.scalar(select(func.max(CustomerAttachment.uploaded_at))
                              .where(CustomerAttachment.customer_id == customer.id))
    return max(moment for moment in (customer.updated_at, customer.last_activity_at, followed_up,
                                     attached)
               if moment is not None)


def purge_customer(uow, customer_id: str, years: int) -> None:
    session, now = uow.session, uow.now()
    customer = one_or_404(session, select(Customer).where(Customer.id == customer_id)
                          .with_for_update(), "Customer", customer_id)
    kept_until = years_after(newest_activity(session, customer), years)
    if kept_until > now:
        raise RetentionPeriod(
            f"Customer {customer_id} is kept {years} years after its last activity; it can "
            f"be deleted for good from {kept_until.date().isoformat()}.",
            {"id": customer_id, "purge_after": kept_until.isoformat()})
    if customer.deleted_at is None:
        soft_delete(uow, customer)
    _erase(session, customer_id)
    uow.commit()


def purge_due(uow, years: int) -> int:
    """This month's purge, unless it already ran; returns how many customers were erased."""
    return run_monthly(uow, PURGE_JOB, lambda: purge_expired(uow, years))


def purge_expired(uow, years: int, batch: int = PURGE_BATCH) -> int:
    """Erase the soft-deleted customers past the retention period, batch by batch."""
    erased = 0
    while True:
        cutoff = years_before(uow.now(), years)
        recent_followup = exists().where(Followup.customer_id == Customer.id,
                                         Followup.created_at > cutoff)
        recent_attachment = exists().where(CustomerAttachment.customer_id == Customer.id,
                                           CustomerAttachment.uploaded_at > cutoff)
        ids = uow.session.scalars(
            select(Customer.id).where(Customer.deleted_at.is_not(None),
                                      Customer.updated_at <= cutoff,
                                      Customer.last_activity_at <= cutoff, ~recent_followup,
                                      ~recent_attachment)
            .limit(batch).with_for_update(skip_locked=True)).all()
        for customer_id in ids:
            _erase(uow.session, customer_id)
        uow.commit()
        erased += len(ids)
        if len(ids) < batch:
            return erased


def _erase(session, customer_id: str) -> None:
    for model in (CustomerAttachment, Followup, CustomerChange):
        session.execute(delete(model).where(model.customer_id == customer_id))
    session.execute(delete(Customer).where(Customer.id == customer_id))
