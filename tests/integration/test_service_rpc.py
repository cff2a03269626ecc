"""The RPC entrypoint of every service, on a real container and broker."""
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy.exc import OperationalError

from services.common import errors
from services.common.dead_letters import rpc


def test_a_service_answers_an_unreachable_database_as_unavailable(container_factory, rabbit_config):
    """A worker whose database connection fails gives its caller 503 ``unavailable``, a
    retry-shortly answer, not a service failure; other errors pass through as they are."""

    class Flaky:
        name = "flaky"

        @rpc(expected_exceptions=errors.EXPECTED_ERRORS)
        def query(self, what):
            if what == "database":
                raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
            raise KeyError(what)

    container = container_factory(Flaky, rabbit_config)
    container.start()
    errors.register_remote_errors()
    with ServiceRpcProxy("flaky", rabbit_config, timeout=30) as flaky:
        with pytest.raises(errors.Unavailable) as raised:
            flaky.query("database")
        assert raised.value.details == {"reason": "ConnectionRefusedError"}
        with pytest.raises(RemoteError) as other:
            flaky.query("key")
        assert other.value.exc_type == "KeyError"
