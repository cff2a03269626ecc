"""Attachments through the gateway and the real services: upload → list → download byte for
byte with a Chinese file name over both stores (``stack`` keeps files in a directory,
``sqlite_stack`` in an S3 bucket), one stored copy per content, 415 for a program whatever
its name, 413 for a file past the limit without the gateway's memory growing by its size,
idempotent retries, who may remove what, and stored files nobody points at collected."""
import hashlib
import select
import socket
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from gateway.attachment_gc import collect, service_askers
from gateway.rpc import RpcPool
from gateway.store import open_store
from tests.support import files
from tests.support.commands import listening
from tests.support.customers import customer_payload
from tests.support.multipart import CONTENT_TYPE, TAIL, head
from tests.support.s3 import S3Server
from tests.support.stack import open_ticket
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
NAME = "营业执照（盖章）.pdf"


def new_customer(api) -> str:
    response = api.post("/api/v1/customers", json=customer_payload())
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(api, path, data: bytes, name: str = NAME, note: str | None = None, **kwargs):
    form = {"note": note} if note is not None else {}
    return api.post(path, files={"file": (name, data)}, data=form, **kwargs)


def stored_files(stack) -> set[str]:
    """The sha256 of every file in the stack's store (a directory, or the moto bucket)."""
    store = stack.env.get("ATTACHMENT_STORE", "")
    if store.startswith("s3://"):
        bucket, _, prefix = store.removeprefix("s3://").partition("/")
        server = S3Server(stack.env["ATTACHMENT_S3_ENDPOINT"], bucket)
        return {key.rsplit("/", 1)[-1] for key in server.keys(prefix)}
    root = Path(stack.env["DATA_DIR"]) / "attachments"
    return {path.name for path in root.glob("??/*")}


@pytest.fixture(params=["stack", "sqlite_stack"], ids=["directory", "s3"])
def any_stack(request):
    return request.getfixturevalue(request.param)


def test_upload_list_download_byte_for_byte(any_stack):
    api = any_stack.admin()
    customer_id = new_customer(api)
    data = files.pdf(f"合同 {uuid.uuid4()}") + bytes(range(256)) * 400
    sha256 = hashlib.sha256(data).hexdigest()
    with listening(any_stack.amqp_uri, "customers", "customer.attachment_added") as received:
        response = upload(api, f"/api/v1/customers/{customer_id}/attachments", data,
                          note="客户提供的扫描件")
        assert response.status_code == 201, response.text
        attachment = response.json()
        events = wait_until(received, message="customer.attachment_added")
    assert attachment["id"].startswith("ca_")
    assert {key: attachment[key] for key in ("customer_id", "followup_id", "file_name", "size",
                                             "sha256", "content_type", "note", "url")} == {
        "customer_id": customer_id, "followup_id": None, "file_name": NAME, "size": len(data),
        "sha256": sha256, "content_type": "application/pdf", "note": "客户提供的扫描件",
        "url": f"/api/v1/attachments/{attachment['id']}"}
    assert events[0]["data"]["attachment"] == attachment
    assert sha256 in stored_files(any_stack)

    listed = api.get(f"/api/v1/customers/{customer_id}/attachments")
    assert listed.status_code == 200 and listed.json() == [attachment]

    downloaded = api.get(attachment["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == data
    assert downloaded.headers["Content-Type"] == "application/pdf"
    assert downloaded.headers["ETag"] == f'"{sha256}"'
    assert downloaded.headers["Content-Disposition"] == (
        f"attachment; filename=\"attachment.pdf\"; filename*=UTF-8''{quote(NAME, safe='')}")
    unchanged = api.get(attachment["url"], headers={"If-None-Match": f'"{sha256}"'})
    assert unchanged.status_code == 304 and unchanged.content == b""


def test_follow_up_and_ticket_attachments(stack):
    api = stack.admin()
    customer_id = new_customer(api)
    followup = api.post(f"/api/v1/customers/{customer_id}/followups", json={
        "at": "2026-11-20T10:00:00+08:00", "channel": "visit", "subject": "方案讲解",
        "outcome": "positive"})
    assert followup.status_code == 201, followup.text
    path = f"/api/v1/customers/{customer_id}/followups/{followup.json()['id']}/attachments"
    card = upload(api, path, files.png(), name="名片.png")
    assert card.status_code == 201, card.text
    assert card.json()["followup_id"] == followup.json()["id"]
    assert api.get(path).json() == [card.json()]
    assert api.get(f"/api/v1/customers/{customer_id}/attachments").json() == [card.json()]
    assert upload(api, f"/api/v1/customers/{customer_id}/followups/999999/attachments",
                  files.png()).status_code == 404

    ticket = open_ticket(api, customer_id)
    with listening(stack.amqp_uri, "tickets", "ticket.attachment_added") as received:
        log = upload(api, f"/api/v1/tickets/{ticket['id']}/attachments",
                     "错误日志\nERROR timeout\n".encode(), name="日志.txt")
        assert log.status_code == 201, log.text
        assert wait_until(received)[0]["data"]["attachment"] == log.json()
    assert log.json()["id"].startswith("ta_")
    assert log.json()["content_type"] == "text/plain; charset=utf-8"
    assert api.get(f"/api/v1/tickets/{ticket['id']}/attachments").json() == [log.json()]
    assert api.get(log.json()["url"]).content == "错误日志\nERROR timeout\n".encode()
    assert api.get("/api/v1/tickets/NO-SUCH/attachments").status_code == 404


def test_the_same_file_twice_is_stored_once(any_stack):
    api = any_stack.admin()
    data = files.pdf(f"proposal {uuid.uuid4()}")
    first = upload(api, f"/api/v1/customers/{new_customer(api)}/attachments", data,
                   name="方案.pdf")
    assert first.status_code == 201, first.text
    before = stored_files(any_stack)
    second = upload(api, f"/api/v1/customers/{new_customer(api)}/attachments", data,
                    name="方案-副本.pdf")
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["sha256"] == first.json()["sha256"]
    assert stored_files(any_stack) == before
    assert api.get(second.json()["url"]).content == data


def test_an_executable_named_pdf_is_415_and_not_stored(stack):
    api = stack.admin()
    customer_id = new_customer(api)
    before = stored_files(stack)
    refused = upload(api, f"/api/v1/customers/{customer_id}/attachments", files.elf(),
                     name="报价单.pdf")
    assert refused.status_code == 415
    assert refused.json()["error"]["details"] == {"detected": "an ELF executable"}
    script = upload(api, f"/api/v1/customers/{customer_id}/attachments", files.script(),
                    name="说明.txt")
    assert script.status_code == 415
    assert stored_files(stack) == before
    assert api.get(f"/api/v1/customers/{customer_id}/attachments").json() == []


def peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak becomes the current RSS


def raw_upload(stack, token: str, path: str, file_start: bytes, size: int, chunked: bool,
               send_at_most: int | None = None) -> tuple[int, int]:
    """Send an upload of ``size`` bytes over a plain socket (or only its first
    ``send_at_most`` bytes), stopping as soon as the gateway answers; the answer's status and
    how many body bytes were sent by then."""
    url = urlparse(stack.base_url)
    body_head = head("大文件.pdf") + file_start
    length = len(body_head) + size - len(file_start) + len(TAIL)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}"
    request = (f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}"
               f"\r\nContent-Type: {CONTENT_TYPE}\r\n{framing}\r\n\r\n").encode()
    block = bytes(256 * 1024)
    remaining = size - len(file_start)
    pieces = [body_head] + [block] * (remaining // len(block)) + [TAIL]
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=120) as sock:
        sock.sendall(request)
        for piece in pieces:
            if select.select([sock], [], [], 0)[0]:
                break  # the gateway has answered: stop sending
            if send_at_most is not None and sent + len(piece) > send_at_most:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        # The answer, however long the loaded machine takes: a gateway waiting for the rest
        # of the body would never give one, and the recv times out.
        status_line = sock.recv(65536).split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), sent


def test_a_21_mib_upload_is_413_without_the_gateway_holding_it(stack):
    api = stack.admin()
    path = f"/api/v1/customers/{new_customer(api)}/attachments"
    token = api.session.headers["Authorization"].removeprefix("Bearer ")
    [worker] = stack.gateway_worker_pids()

    # Refused by its Content-Length: the answer comes with only the first 256 KiB sent.
    status, sent = raw_upload(stack, token, path, files.pdf(), 21 * MIB, chunked=False,
                              send_at_most=256 * 1024)
    assert status == 413
    assert sent <= 256 * 1024

    reset_peak_rss(worker)
    start = peak_rss_bytes(worker)
    status, sent = raw_upload(stack, token, path, files.pdf(), 21 * MIB, chunked=True)
    assert status == 413
    assert sent >= 20 * MIB  # the gateway read up to the limit before refusing
    grown = peak_rss_bytes(worker) - start
    assert grown < 8 * MIB, f"the gateway's peak RSS grew by {grown / MIB:.1f} MiB"
    assert api.get(path).json() == []


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer(stack):
    api = stack.admin()
    path = f"/api/v1/customers/{new_customer(api)}/attachments"
    key = f"attach-{uuid.uuid4().hex}"
    data = files.pdf(f"retry {uuid.uuid4()}")
    first = upload(api, path, data, note="v1", headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    again = upload(api, path, data, note="v1", headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = upload(api, path, files.pdf("another file"), note="v1",
                   headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert [item["id"] for item in api.get(path).json()] == [first.json()["id"]]


def test_who_may_attach_and_remove(stack):
    owner = stack.user("sales")
    colleague = stack.user("sales")
    support = stack.user("support")
    customer_id = new_customer(owner)
    path = f"/api/v1/customers/{customer_id}/attachments"

    assert upload(colleague, path, files.pdf()).json()["error"]["code"] == "not_owner"
    assert upload(support, path, files.pdf()).status_code == 403
    mine = upload(owner, path, files.pdf(f"owner's {uuid.uuid4()}")).json()
    other = upload(owner, path, files.png()).json()

    assert colleague.delete(mine["url"]).status_code == 403
    assert support.get(mine["url"]).status_code == 200  # reading is everyone's
    with listening(stack.amqp_uri, "customers", "customer.attachment_removed") as received:
        assert owner.delete(mine["url"]).status_code == 204
        assert wait_until(received)[0]["data"]["by"] == owner.username
    assert owner.get(mine["url"]).status_code == 404
    assert owner.delete(mine["url"]).status_code == 404
    assert stack.admin().delete(other["url"]).status_code == 204
    assert owner.get(path).json() == []
    assert owner.get("/api/v1/attachments/xx_unknown").status_code == 404


def test_a_deleted_customers_attachments_stay(stack):
    api = stack.admin()
    customer_id = new_customer(api)
    contract = files.docx()
    kept = upload(api, f"/api/v1/customers/{customer_id}/attachments", contract,
                  name="合同.docx").json()
    assert api.delete(f"/api/v1/customers/{customer_id}").status_code == 204
    assert api.get(f"/api/v1/customers/{customer_id}/attachments").json() == [kept]
    assert api.get(kept["url"]).content == contract
    assert upload(api, f"/api/v1/customers/{customer_id}/attachments",
                  files.pdf()).status_code == 404
    purge = api.delete(f"/api/v1/customers/{customer_id}", params={"purge": "true"})
    assert purge.status_code == 409 and purge.json()["error"]["code"] == "retention_period"


def test_files_no_attachment_points_at_are_collected(stack):
    """Removing the last attachment of a file lets garbage collection delete it; a file
    another service's attachment still points at stays."""
    api = stack.admin()
    customer_id = new_customer(api)
    shared, alone = files.pdf(f"shared {uuid.uuid4()}"), files.pdf(f"alone {uuid.uuid4()}")
    on_customer = upload(api, f"/api/v1/customers/{customer_id}/attachments", shared).json()
    on_ticket = upload(api, f"/api/v1/tickets/{open_ticket(api, customer_id)['id']}/attachments",
                       shared).json()
    single = upload(api, f"/api/v1/customers/{customer_id}/attachments", alone).json()
    for attachment in (on_customer, single):
        assert api.delete(attachment["url"]).status_code == 204

    pool = RpcPool(stack.amqp_uri, 1, 10)
    try:
        store = open_store(str(Path(stack.env["DATA_DIR"]) / "attachments"))
        # As a round after the grace period would: every file counts as old enough.
        deleted = collect(store, service_askers(pool),
                          older_than=datetime.now(timezone.utc) + timedelta(seconds=1))
    finally:
        pool.close()
    assert single["sha256"] in deleted
    assert on_ticket["sha256"] not in deleted
    assert single["sha256"] not in stored_files(stack)
    assert api.get(on_ticket["url"]).content == shared
