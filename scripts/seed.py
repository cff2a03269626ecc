"""Load a realistic demo data set through the running gateway: ``make seed``.

A few hundred customers across industries, grades, types and sources, each with a few
follow-ups and a few tickets (some worked to done or closed and rated). Deterministic (same
data each time); a second run skips what exists (409).
Options: ``--customers N`` (default 300), ``--base-url``, ``--username``, ``--password``.
"""
import argparse
import os
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests
from tqdm import tqdm

CITIES = ["Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan", "Suzhou", "Xi'an"]
WORDS = ["Huaxin", "Zhongke", "Tianyu", "Jinghua", "Ruida", "Hengtong", "Xinyuan", "Dingsheng",
         "Boya", "Kaiyuan", "Longteng", "Mingde", "Qianjin", "Shengshi", "Yuanhang", "Zhicheng"]
KINDS = {"TECH": "Technology", "MFG": "Manufacturing", "RETAIL": "Retail", "SVC": "Services",
         "FIN": "Capital", "EDU": "Education", "GOV": "Public Services", "OTHER": "Trading"}
TYPES = ["prospect"] * 4 + ["intent"] * 3 + ["deal"] * 2 + ["churned"]
SUBJECTS = ["Introduction call", "Product demo", "Price negotiation", "Contract review",
            "Quarterly check-in", "Renewal discussion", "Site visit"]
TICKET_TITLES = ["Cannot log in", "Invoice is wrong", "Delivery delayed", "Feature request",
                 "Training needed", "System is slow", "Renewal question"]
# How far a seeded ticket is worked: nothing yet, started, done, done and closed.
TICKET_MOVES = [{"to": "in_progress", "note": "Looking into it"},
                {"to": "done", "solution": "Fixed and confirmed with the customer",
                 "resolution": "resolved"},
                {"to": "closed"}]
WORKERS = 8


def admin_password(explicit: str | None) -> str:
    if explicit or os.environ.get("ADMIN_PASSWORD"):
        return explicit or os.environ["ADMIN_PASSWORD"]
    path = Path(os.environ.get("DATA_DIR", "var")) / "admin-password"
    if path.exists():
        return path.read_text().strip()
    sys.exit("No admin password: set ADMIN_PASSWORD or pass --password.")


def login(base_url: str, username: str, password: str) -> requests.Session:
    response = requests.post(f"{base_url}/api/v1/auth/login", timeout=10,
                             json={"username": username, "password": password})
    if response.status_code != 200:
        sys.exit(f"Login failed ({response.status_code}): {response.text}. Is `make run` running?")
    if response.json()["must_change_password"]:
        sys.exit(f"{username} must change the generated password first (POST /api/v1/auth/password, "
                 "see the README); then run the seed with ADMIN_PASSWORD=<new password>.")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


def customer_payload(rng: random.Random, n: int) -> dict:
    industry = rng.choice(list(KINDS))
    kind = rng.choice(TYPES)
    payload = {
        "name": f"{rng.choice(CITIES)} {rng.choice(WORDS)} {KINDS[industry]} Co. No.{n}",
        "contact_name": rng.choice(["Wang Wei", "Li Na", "Zhang Min", "Liu Yang", "Chen Jie"]),
        "phone": f"13{rng.randint(0, 9)}{n:08d}",
        "email": f"contact{n}@example.com",
        "industry": industry, "type": kind, "grade": rng.choice("AABBBCCCC"),
        "source": rng.choice(["exhibition", "referral", "online", "visit", "other"]),
        "employees": rng.choice([12, 45, 120, 480, 2300]),
        "first_contact_date": (date.today() - timedelta(days=rng.randint(1, 400))).isoformat(),
        "tags": rng.sample(["ERP", "CRM", "cloud", "training", "hardware", "support"], 2),
    }
    if kind == "deal":
        payload.update(deal_amount=rng.choice([30000, 150000, 280000, 650000, 1200000]),
                       deal_product=rng.choice(["Cloud suite", "Support plan", "MES"]),
                       signed_date=(date.today() - timedelta(days=rng.randint(1, 200))).isoformat())
    return payload


def followup_payloads(rng: random.Random) -> list[dict]:
    now = datetime.now(timezone.utc)
    return [{
        "at": (now - timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 600))).isoformat(),
        "channel": rng.choice(["phone", "email", "visit", "wechat"]),
        "subject": rng.choice(SUBJECTS),
        "content": "Discussed needs and next steps.",
        "feedback": rng.choice(["Interested", "Needs budget approval", "Not now"]),
        "outcome": rng.choice(["positive", "positive", "neutral", "negative"]),
        "next_action": "Send a proposal",
    } for _ in range(rng.randint(1, 4))]


def seed_customer(session: requests.Session, base_url: str, n: int) -> str:
    rng = random.Random(n)
    response = session.post(f"{base_url}/api/v1/customers", json=customer_payload(rng, n), timeout=30)
    if response.status_code == 409:
        return "skipped"
    response.raise_for_status()
    customer_id = response.json()["id"]
    for followup in followup_payloads(rng):
        session.post(f"{base_url}/api/v1/customers/{customer_id}/followups", json=followup,
                     timeout=30).raise_for_status()
    for _ in range(rng.randint(1, 3)):
        seed_ticket(session, base_url, rng, customer_id)
    return "created"


def seed_ticket(session: requests.Session, base_url: str, rng: random.Random, customer_id: str):
    response = session.post(f"{base_url}/api/v1/tickets", timeout=30, json={
        "customer_id": customer_id, "title": rng.choice(TICKET_TITLES),
        "service_type": rng.choice(["presales", "insales", "aftersales", "value_added"]),
        "category": rng.choice(["inquiry", "complaint", "suggestion", "need", "cooperation"]),
        "priority": rng.choice(["high", "medium", "medium", "low"])})
    response.raise_for_status()
    path = f"{base_url}/api/v1/tickets/{response.json()['id']}"
    moves = TICKET_MOVES[:rng.randint(0, len(TICKET_MOVES))]
    for move in moves:
        if move["to"] == "closed":  # closing needs a rating (or a close reason)
            session.post(f"{path}/rating", timeout=30, json={
                "score": rng.choice([3, 4, 4, 5, 5]), "nps_score": rng.randint(5, 10),
                "comment": "Thanks"}).raise_for_status()
        session.post(f"{path}/transitions", json=move, timeout=30).raise_for_status()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--base-url", default=f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}")
    parser.add_argument("--username", default=os.environ.get("ADMIN_USERNAME", "admin"))
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    session = login(args.base_url, args.username, admin_password(args.password))
    outcomes = {"created": 0, "skipped": 0}
    with ThreadPoolExecutor(WORKERS) as pool, tqdm(total=args.customers, unit="customer",
                                                   desc="customers") as bar:
        for outcome in pool.map(lambda n: seed_customer(session, args.base_url, n),
                                range(1, args.customers + 1)):
            outcomes[outcome] += 1
            bar.update()
    print(f"customers: {outcomes['created']} created, {outcomes['skipped']} already there")


if __name__ == "__main__":
    main()
