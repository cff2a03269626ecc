"""Asking another service whether something exists, as a Nameko dependency.

``find_customer = Lookup("customers", "customer_id")`` gives each worker a function
``find_customer(customer_id)`` that calls ``customers.get`` with the ``RPC_TIMEOUT``: an
unknown id is a 422 naming the field, a silent service a 503."""
import eventlet
from nameko.exceptions import RpcTimeout, UnknownService

from services.common.config import settings_from
from services.common.dead_letters import ScreenedRpcProxy
from services.common.errors import NotFound, Unavailable, ValidationFailed


class Lookup(ScreenedRpcProxy):
    def __init__(self, service: str, field: str, **kwargs):
        super().__init__(service, **kwargs)
        self.field = field
        self.what = field.removesuffix("_id")

    def setup(self):
        self.timeout = settings_from(self.container.config).rpc_timeout

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)
        field, what, service = self.field, self.what, self.target_service

        def find(record_id: str) -> dict:
            try:
                with eventlet.Timeout(self.timeout, RpcTimeout(f"{service}.get")):
                    return proxy.get(record_id)
            except NotFound:
                raise ValidationFailed(f"{field}: no {what} {record_id}.", {"fields": {
                    field: [f"No {what} {record_id}."]}}) from None
            except (RpcTimeout, UnknownService) as exc:
                raise Unavailable(f"The {service} service did not answer; retry shortly.",
                                  {"reason": type(exc).__name__}) from None

        return find
