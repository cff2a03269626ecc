"""Creation under load, as careful clients do it: every create carries an Idempotency-Key
and is retried with the same key after a 503 or a broken connection, until it gets an
answer. Afterwards :meth:`CreationLoad.audit` compares what the clients were told with
what the services hold: ``lost`` (acknowledged but absent) and ``duplicated`` (present
twice, or present but never acknowledged).
"""
import itertools
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.customers import customer_payload

RETRY_PAUSE_SECONDS = 0.5
GIVE_UP_SECONDS = 180
UNAVAILABLE = 503


def read(api, path: str, **params) -> dict:
    """``GET path`` as a careful client reads: a 503 (a service catching up after a fault)
    is retried for a while; any other answer but 200 fails the test."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while True:
        response = api.get(path, params=params)
        if response.status_code != UNAVAILABLE or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response.json()
        time.sleep(RETRY_PAUSE_SECONDS)


def _retryable(status, response) -> bool:
    """What a careful client retries with the same key: no answer at all, 503, and 409
    ``in_progress`` (the first attempt under the key is still running)."""
    if response is None or status == UNAVAILABLE:
        return True
    return status == 409 and response.json().get("error", {}).get("code") == "in_progress"


class CreationLoad:
    """``concurrency`` clients, each repeating: create a customer, open a ticket for it
    (owned by ``ticket_owner``), until ``operations`` pairs are done, or with ``operations``
    None until :meth:`stop` (each client finishes the pair it is on)."""

    def __init__(self, api, label: str, operations: int | None, concurrency: int,
                 ticket_owner: str):
        self.api = api
        self.label = f"{label} {uuid.uuid4().hex[:6]}"
        self.operations = operations
        self.concurrency = concurrency
        self.ticket_owner = ticket_owner
        self.statuses = Counter()  # every answer received, retries included
        self.sent = 0  # logical creates attempted (a create and its retries count once)
        self.created = {"customers": {}, "tickets": {}}  # idempotency key -> id
        self.others = []  # final answers other than 201
        self.conflicting_ids = []  # a retry answered with another id than the first answer
        self.done_pairs = 0
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = None

    # --- running -------------------------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Start no new pair; :meth:`wait` then waits for the pairs under way."""
        self._stopping.set()
        return self

    def wait(self, timeout: float = 600):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the load did not finish in {timeout}s"

    def wait_for_progress(self, pairs: int, timeout: float = 120):
        """Block until ``pairs`` more customer+ticket pairs are done than now."""
        target = self.done_pairs + pairs
        if self.operations is not None:
            target = min(target, self.operations)
        deadline = time.monotonic() + timeout
        while self.done_pairs < target:
            assert time.monotonic() < deadline, f"the load made no progress in {timeout}s"
            time.sleep(0.1)

    def run(self):
        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(lambda _: self._client(), range(self.concurrency)))

    def _client(self):
        session = requests.Session()
        session.headers.update(self.api.session.headers)
        while not self._stopping.is_set():
            number = next(self._numbers)
            if self.operations is not None and number >= self.operations:
                return
            customer_id = self._create(session, "customers", customer_payload(
                name=f"Fault {self.label} {number}", contact_name="Li Na", source="online"))
            if customer_id is not None:
                self._create(session, "tickets", {
                    "customer_id": customer_id, "service_type": "aftersales",
                    "category": "inquiry", "priority": "low", "owner": self.ticket_owner,
                    "title": f"Fault {self.label} {number}"})
            with self._lock:
                self.done_pairs += 1

    def _create(self, session, collection: str, body: dict) -> str | None:
        key = f"{collection}-{uuid.uuid4()}"
        with self._lock:
            self.sent += 1
        deadline = time.monotonic() + GIVE_UP_SECONDS
        first_id = None
        while True:
            try:
                response = session.post(f"{self.api.base_url}/api/v1/{collection}", json=body,
                                        headers={"Idempotency-Key": key}, timeout=30)
                status = response.status_code
            except requests.RequestException as exc:
                response, status = None, type(exc).__name__
            with self._lock:
                self.statuses[status] += 1
            if status == 201:
                record_id = response.json()["id"]
                with self._lock:
                    if first_id not in (None, record_id):
                        self.conflicting_ids.append((key, first_id, record_id))
                    self.created[collection][key] = record_id
                return record_id
            if not _retryable(status, response) or time.monotonic() > deadline:
                with self._lock:
                    self.others.append((collection, status, response.text[:300] if response
                                        is not None else "no answer"))
                return None
            time.sleep(RETRY_PAUSE_SECONDS)

    # --- auditing ------------------------------------------------------------------------

    def _held(self, collection: str) -> list[str]:
        """Ids of this load's records that the service holds (a name prefix marks them)."""
        ids, page = [], 1
        params = {"per_page": 200, "q": f"Fault {self.label}"} if collection == "customers" \
            else {"per_page": 200, "owner": self.ticket_owner}
        while True:
            body = read(self.api, f"/api/v1/{collection}", **params, page=page)
            ids += [item["id"] for item in body["items"]
                    if item.get("name", item.get("title", "")).startswith(f"Fault {self.label}")]
            if page * body["per_page"] >= body["total"]:
                return ids
            page += 1

    def audit(self) -> dict:
        """The figures, printed as one line: sent, 201, 503, other, lost, duplicated."""
        lost = duplicated = 0
        held_counts = {}
        for collection in ("customers", "tickets"):
            held = Counter(self._held(collection))
            acknowledged = set(self.created[collection].values())
            held_counts[collection] = len(held)
            lost += len(acknowledged - set(held))
            duplicated += sum(n - 1 for n in held.values()) + len(set(held) - acknowledged)
        duplicated += len(self.conflicting_ids)
        figures = {"sent": self.sent, "201": self.statuses[201],
                   "503": self.statuses[UNAVAILABLE],
                   "other": len(self.others), "lost": lost, "duplicated": duplicated,
                   "500": self.statuses[500], "held": held_counts,
                   "answers": dict(self.statuses)}
        print(f"\n[{self.label}] sent={figures['sent']} 201={figures['201']} "
              f"503={figures['503']} other={figures['other']} lost={lost} "
              f"duplicated={duplicated}  (every answer: {figures['answers']})", flush=True)
        if self.others:
            print(f"[{self.label}] other answers: {self.others[:5]}", flush=True)
        return figures
