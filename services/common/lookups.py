"""Asking another service, as a Nameko dependency.

``find_customer = Lookup("customers", "customer_id")`` gives each worker a function
``find_customer(customer_id)`` that calls ``customers.get`` with the ``RPC_TIMEOUT``: an
unknown id is a 422 naming the field (:func:`no_such`), a silent service a 503.
:func:`answer_of` is the timed call underneath, for other questions."""
import eventlet
from nameko.exceptions import RpcTimeout, UnknownService

from services.common.config import settings_from
from services.common.dead_letters import ScreenedRpcProxy
from services.common.errors import NotFound, Unavailable, ValidationFailed


class Lookup(ScreenedRpcProxy):
    def __init__(self, service: str, field: str, **kwargs):
        super().__init__(service, **kwargs)
        self.field = field

    def setup(self):
        self.timeout = settings_from(self.container.config).rpc_timeout

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)
        field = self.field

        def find(record_id: str) -> dict:
            try:
                return answer_of(proxy, "get", self.timeout, record_id)
            except NotFound:
                raise no_such(field, record_id) from None

        return find


def no_such(field: str, record_id: str) -> ValidationFailed:
    """The 422 for a ``field`` naming a record that does not exist (or no longer does)."""
    what = field.removesuffix("_id")
    return ValidationFailed(f"{field}: no {what} {record_id}.", {"fields": {
        field: [f"No {what} {record_id}."]}})


def answer_of(proxy, method: str, timeout: float, *args):
    """``proxy.<method>(*args)`` within ``timeout``; a silent service is ``Unavailable``
    (503 for a request, a retry for an event)."""
    service = proxy.service_name
    try:
        with eventlet.Timeout(timeout, RpcTimeout(f"{service}.{method}")):
            return getattr(proxy, method)(*args)
    except (RpcTimeout, UnknownService) as exc:
        raise Unavailable(f"The {service} service did not answer; retry shortly.",
                          {"reason": type(exc).__name__}) from None
