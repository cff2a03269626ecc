"""Start one Deskflow service: ``python -m services.common.run customer``.

Patches the standard library for eventlet before anything else is imported, makes psycopg
wait through eventlet rather than block the whole process
(:func:`~services.common.db.wait_green`), and lets RPC replies and events wait out a broker
restart instead of killing the container.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import importlib  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

from nameko.amqp import publish  # noqa: E402
from nameko.cli.run import run  # noqa: E402

from services.common.config import SERVICE_CLASSES, load_settings  # noqa: E402
from services.common.db import use_green_wait  # noqa: E402
from services.common.errors import register_remote_errors  # noqa: E402
from services.common.logs import configure_logging  # noqa: E402

# Publishing waits out a broker restart rather than giving up after three quick tries.
PATIENT_RETRY_POLICY = {"max_retries": 20, "interval_start": 0.5, "interval_step": 1,
                        "interval_max": 5}


def service_class(name: str):
    module_name, class_name = SERVICE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in SERVICE_CLASSES:
        sys.exit(f"usage: python -m services.common.run {{{'|'.join(SERVICE_CLASSES)}}}")
    settings = load_settings()
    configure_logging(settings.log_level)
    register_remote_errors()
    use_green_wait()
    publish.DEFAULT_RETRY_POLICY.update(PATIENT_RETRY_POLICY)
    run([service_class(argv[0])], settings.nameko_config())


if __name__ == "__main__":
    main()
