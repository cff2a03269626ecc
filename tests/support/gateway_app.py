"""The gateway's Flask app in the test process, on a migrated SQLite database and a given
broker, for tests that drive it with Flask's test client."""
import secrets

from gateway.app import create_app
from services.common.config import load_settings
from services.common.migrate import upgrade


def gateway_app(tmp_path, amqp_uri, **environ):
    settings = load_settings({"AMQP_URI": amqp_uri, "DATA_DIR": str(tmp_path), "RPC_TIMEOUT": "2",
                              "JWT_SECRET": secrets.token_hex(32), **environ})
    upgrade("gateway", settings.database_url("gateway"))
    return create_app(settings)
