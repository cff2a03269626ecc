"""gunicorn settings for the gateway (``gunicorn -c gateway/gunicorn.conf.py``).

Threaded workers: each request holds one pooled RPC client while it waits for a service.
The workers write their metrics to ``PROMETHEUS_MULTIPROC_DIR``; the master serves them,
summed, on ``GATEWAY_METRICS_PORT`` (not on the API's port).
"""
import os
import shutil
from pathlib import Path

from services.common.config import load_settings

# Before prometheus_client is imported anywhere: it picks its storage at import.
metrics_dir = Path(os.environ.get("DATA_DIR", "var")) / "prometheus"
shutil.rmtree(metrics_dir, ignore_errors=True)
metrics_dir.mkdir(parents=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())

from prometheus_client import multiprocess  # noqa: E402

# The services run under eventlet and need psycopg's pure-Python select() wait (set for every
# process by `make run` and the image); the gateway's threads do not, and psycopg's own C
# wait costs less CPU per query. Dropped before the workers import psycopg.
os.environ.pop("PSYCOPG_WAIT_FUNC", None)

bind = f"{os.environ.get('GATEWAY_HOST', '127.0.0.1')}:{os.environ.get('GATEWAY_PORT', '8000')}"
workers = int(os.environ.get("GATEWAY_WORKERS", "1"))
threads = int(os.environ.get("GATEWAY_THREADS", "16"))
worker_class = "gthread"
wsgi_app = "gateway.app:create_app()"
accesslog = None
timeout = 60
# Idle keep-alive connections stay open longer than clients and proxies keep theirs, so a
# client never sends a request on a connection the gateway is closing at that moment
# (gunicorn's default of 2 s made pooled clients that paused ~2 s see dropped connections).
keepalive = 75
graceful_timeout = 10
# Several gateways may run on one machine (tests start their own); none uses gunicornc.
control_socket_disable = True

SETTINGS = load_settings()
MAX_BODY_BYTES = SETTINGS.max_body_bytes


def when_ready(server):
    from gateway.metrics import serve

    serve(SETTINGS)


def pre_request(worker, req):
    """A body over MAX_BODY_BYTES is refused with 413 without being read, so the rest of it
    is still on the connection and the connection cannot carry another request: answer
    with ``Connection: close`` so the client does not send one on it. (An application's
    own Connection header is dropped by gunicorn; only the request can ask for this.)"""
    length = dict(req.headers).get("CONTENT-LENGTH", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        req.force_close()


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
