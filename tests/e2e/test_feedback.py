"""The satisfaction loop end to end (issue 12): the real processes on RabbitMQ and PostgreSQL,
driven through the gateway, mailing the real SMTP server of ``tests/support/smtp.py``. The
customer hears of receipt, delay and outcome in their language, once each; the survey link
in the outcome answers once without a login; a low score reaches the owner and their
manager."""
import re
import uuid
from datetime import date, timedelta

import pytest

from tests.support.customers import customer_payload
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

SURVEY_LINK = re.compile(r"/api/v1/surveys/([A-Za-z0-9_-]+)")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_customer(api, **fields) -> dict:
    response = api.post("/api/v1/customers", json=customer_payload(
        name=unique("Feedback Co"), industry="MFG", **fields))
    assert response.status_code == 201, response.text
    return response.json()


def open_ticket(api, customer, **fields) -> dict:
    response = api.post("/api/v1/tickets", json={
        "customer_id": customer["id"], "service_type": "aftersales", "category": "complaint",
        "title": "Conveyor stops every hour", "channel": "phone", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def inbox_kinds(api) -> list[str]:
    response = api.get("/api/v1/notifications", params={"per_page": 200})
    assert response.status_code == 200, response.text
    return [entry["kind"] for entry in response.json()["items"]]


def test_the_customer_hears_back_in_chinese_once_each_and_answers_the_survey(stack, smtp):
    admin = stack.admin()
    team = unique("team")
    owner = stack.user("sales", team=team)
    manager = stack.user("manager", team=team)
    address = f"{unique('zhang')}@example.com"
    customer = new_customer(admin, owner=owner.username)  # language: zh by default
    ticket = open_ticket(owner, customer, contact_name="张伟", contact_email=address,
                         planned_completion_date=date.today().isoformat())
    path = f"/api/v1/tickets/{ticket['id']}"
    assert ticket["notify_customer"] is True and ticket["language"] == "zh"

    (ack,) = wait_until(lambda: smtp.messages(address), timeout=60)
    assert ack["Subject"] == f"我们已收到您的反馈（{ticket['id']}）"
    assert "张伟" in ack.get_content()

    assert owner.post(path + "/transitions", json={"to": "in_progress"}).status_code == 200
    assert owner.post(path + "/comments", json={"body": "备件预计下周到货"}).status_code == 201
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert owner.patch(path, json={"planned_completion_date": yesterday}).status_code == 200
    delay = wait_until(lambda: [m for m in smtp.messages(address) if "延期" in m["Subject"]],
                       timeout=60)[0]
    assert "备件预计下周到货" in delay.get_content() and yesterday in delay.get_content()

    done = owner.post(path + "/transitions", json={
        "to": "done", "solution": "更换了驱动电机", "resolution": "resolved"})
    assert done.status_code == 200, done.text
    outcome = wait_until(lambda: [m for m in smtp.messages(address) if "处理完毕" in m["Subject"]],
                         timeout=60)[0]
    assert "更换了驱动电机" in outcome.get_content()
    (token,) = SURVEY_LINK.findall(outcome.get_content())

    anonymous = stack.anonymous()
    shown = anonymous.get(f"/api/v1/surveys/{token}")
    assert shown.status_code == 200, shown.text
    assert (shown.json()["ticket_id"], shown.json()["language"]) == (ticket["id"], "zh")
    answered = anonymous.post(f"/api/v1/surveys/{token}", json={
        "overall": "very_dissatisfied", "quality": 2, "speed": 1, "effectiveness": 1,
        "nps_score": 2, "would_cooperate_again": "maybe", "comment": "还是会停机"})
    assert answered.status_code == 201, answered.text
    assert (answered.json()["score"], answered.json()["collected_via"]) == (1, "survey")
    again = anonymous.post(f"/api/v1/surveys/{token}", json={"overall": "satisfied"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert anonymous.get(f"/api/v1/surveys/{token}").status_code == 409
    assert anonymous.get(f"/api/v1/surveys/{token[:-4]}abcd").status_code == 404
    assert owner.get(path).json()["rating"]["comment"] == "还是会停机"

    # 持续跟进直至客户确认满意: a score of 1 reaches the owner and the owner's manager.
    wait_until(lambda: "ticket_dissatisfied" in inbox_kinds(manager), timeout=60)
    wait_until(lambda: "ticket_dissatisfied" in inbox_kinds(owner), timeout=60)
    wait_until(lambda: [m for m in smtp.messages(f"{manager.username}@example.com")
                        if ticket["id"] in m["Subject"]], timeout=60)

    mails = smtp.messages(address)
    assert len(mails) == 3  # once each
    assert all(not re.search(r"[A-Za-z]{4,}", m["Subject"].replace(ticket["id"], ""))
               for m in mails)  # Chinese only
    history = owner.get(path + "/history").json()
    assert sorted(entry["details"]["notice"] for entry in history
                  if entry["kind"] == "customer_notice") == ["acknowledgement", "delay", "outcome"]
    log = admin.get("/api/v1/deliveries", params={"channel": "email", "per_page": 200}).json()
    sent = {row["target"]: row["status"] for row in log["items"]
            if row["target"].startswith(f"customer:{ticket['id']}:")}
    assert sent == {f"customer:{ticket['id']}:{kind}": "sent"
                    for kind in ("acknowledgement", "delay", "outcome")}
    closed = owner.post(path + "/transitions", json={"to": "closed"})
    assert closed.status_code == 200, closed.text  # rated, so no close_reason is needed


def test_an_english_speaking_customer_is_written_to_in_english(stack, smtp):
    admin = stack.admin()
    address = f"{unique('smith')}@example.com"
    customer = new_customer(admin, email=address, language="en")
    ticket = open_ticket(admin, customer)  # no contact_email: the customer's email
    (ack,) = wait_until(lambda: smtp.messages(address), timeout=60)
    assert ack["Subject"] == f"We have received your feedback ({ticket['id']})"
    assert "Dear customer" in ack.get_content()


def test_departments_are_an_admin_edited_list(stack):
    admin, sales = stack.admin(), stack.user("sales")
    name = unique("售后服务部")
    kept = admin.get("/api/v1/departments").json()["departments"]
    assert admin.put("/api/v1/departments", json={"departments": [*kept, name]}).status_code == 200
    assert name in sales.get("/api/v1/departments").json()["departments"]
    assert sales.put("/api/v1/departments", json={"departments": []}).status_code == 403
    twice = admin.put("/api/v1/departments", json={"departments": [name, name]})
    assert twice.status_code == 422 and "departments" in twice.json()["error"]["details"]["fields"]
    customer = new_customer(admin)
    assert open_ticket(sales, customer, department=name)["department"] == name
    unknown = sales.post("/api/v1/tickets", json={
        "customer_id": customer["id"], "service_type": "aftersales", "category": "other",
        "title": "Where to?", "department": unique("Nowhere")})
    assert unknown.status_code == 422
    assert set(unknown.json()["error"]["details"]["fields"]) == {"department"}
