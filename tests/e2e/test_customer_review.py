"""Review of customer records (双人校验 / 三级审核, issue 11) through the gateway: a new
customer waits for a colleague's check and a manager's approval; the author cannot review
its own change; a rejection goes back to the author's inbox with the note; the steps are in
the change log; the reports can count approved customers only."""
import uuid

import pytest

from tests.support.customers import customer_payload, unique_phone
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def people(stack):
    team = f"review-{uuid.uuid4().hex[:6]}"
    return {"author": stack.user("sales", team=team), "mate": stack.user("sales", team=team),
            "manager": stack.user("manager", team=team), "support": stack.user("support"),
            "admin": stack.admin()}


def review(api, customer_id, decision, note=None):
    return api.post(f"/api/v1/customers/{customer_id}/review",
                    json={"decision": decision, "note": note})


def refused(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def queue(api) -> set[str]:
    response = api.get("/api/v1/customers", params={"review": "pending", "per_page": 200})
    assert response.status_code == 200, response.text
    return {customer["id"] for customer in response.json()["items"]}


def approved_total(api) -> int:
    response = api.get("/api/v1/reports/summary", params={"approved_only": "true"})
    assert response.status_code == 200, response.text
    return response.json()["customers"]["total"]


def test_a_new_customer_is_verified_by_a_colleague_then_approved(people):
    author, mate, manager = people["author"], people["mate"], people["manager"]
    customer = author.post("/api/v1/customers", json=customer_payload()).json()
    assert (customer["review"], customer["review_author"]) == ("pending", author.username)
    assert customer["id"] in queue(manager)

    refused(review(author, customer["id"], "verified"), 409, "same_person")
    refused(review(people["support"], customer["id"], "verified"), 403, "forbidden")
    error = refused(review(manager, customer["id"], "approved"), 409, "review_out_of_order")
    assert error["details"]["allowed"] == ["verified", "rejected"]
    baseline = approved_total(people["admin"])

    verified = review(mate, customer["id"], "verified", "phone checked by call")
    assert verified.status_code == 200, verified.text
    assert (verified.json()["review"], verified.json()["verified_by"]) == ("verified",
                                                                           mate.username)
    refused(review(mate, customer["id"], "approved"), 403, "forbidden")  # sales verify only
    approved = review(manager, customer["id"], "approved")
    assert approved.status_code == 200, approved.text
    assert approved.json()["review"] == "approved"
    assert customer["id"] not in queue(manager)
    refused(review(people["admin"], customer["id"], "approved"), 409, "review_out_of_order")

    history = author.get(f"/api/v1/customers/{customer['id']}/history").json()
    steps = [(entry["action"], entry["by"]) for entry in history[:2]]
    assert steps == [("approved", manager.username), ("verified", mate.username)]
    assert {"field": "review", "before": "pending", "after": "verified"} in history[1]["changes"]
    wait_until(lambda: approved_total(people["admin"]) == baseline + 1,
               message="the report counts the approved customer")

    # a phone change by someone else puts it back in the queue with that person as author
    changed = manager.patch(f"/api/v1/customers/{customer['id']}",
                            json={"phone": unique_phone()}).json()
    assert (changed["review"], changed["review_author"]) == ("pending", manager.username)
    refused(review(manager, customer["id"], "verified"), 409, "same_person")
    assert author.patch(f"/api/v1/customers/{customer['id']}",  # not a reviewed field
                        json={"notes": "met at the fair"}).json()["review"] == "pending"
    wait_until(lambda: approved_total(people["admin"]) == baseline,
               message="the changed customer no longer counts as approved")

    # three people see an approved change: whoever verified it does not also approve it
    assert review(people["admin"], customer["id"], "verified").status_code == 200
    refused(review(people["admin"], customer["id"], "approved"), 409, "same_person")


def test_a_rejection_goes_back_to_the_author_with_the_note(people):
    author, mate, manager = people["author"], people["mate"], people["manager"]
    customer = author.post("/api/v1/customers", json=customer_payload()).json()
    refused(review(mate, customer["id"], "rejected"), 422, "validation_failed")  # say why
    assert review(mate, customer["id"], "verified").status_code == 200
    refused(review(mate, customer["id"], "rejected", "x"), 403, "forbidden")
    rejected = review(manager, customer["id"], "rejected", "预算范围需再确认")
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["review"], rejected.json()["review_note"]) == ("rejected",
                                                                           "预算范围需再确认")

    def notices():
        items = author.get("/api/v1/notifications", params={"per_page": 200}).json()["items"]
        return [entry for entry in items if entry["kind"] == "review_rejected"
                and customer["id"] in entry["title"]]

    wait_until(lambda: len(notices()) == 1, message="the author hears of the rejection")
    assert "预算范围需再确认" in notices()[0]["body"]
    assert not [entry for entry in mate.get("/api/v1/notifications").json()["items"]
                if entry["kind"] == "review_rejected"]

    # the author corrects it: back in the queue
    corrected = author.patch(f"/api/v1/customers/{customer['id']}",
                             json={"budget_min": 1000000, "budget_max": 2000000}).json()
    assert corrected["review"] == "pending" and corrected["review_note"] is None
    assert customer["id"] in queue(manager)
    history = author.get(f"/api/v1/customers/{customer['id']}/history").json()
    assert history[0]["action"] == "updated"
    assert {"field": "review", "before": "rejected", "after": "pending"} in history[0]["changes"]
    assert (history[1]["action"], history[1]["by"]) == ("rejected", manager.username)
