"""Who may do what: one table, read by the API, the OpenAPI document and the tests.

A ``manager`` (团队负责人) may do everything ``sales`` may and acts for the members of its
team; which customers each may change is the customer service's ownership rule."""
ROLES = ("admin", "manager", "sales", "support")
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
SELLERS = frozenset({"admin", "manager", "sales"})
# Changing one's own password and logging out: the only things a user whose password must
# change may do.
SESSION = "session"

PERMISSIONS = {
    "users.manage": ADMIN,
    "account.own": EVERYONE,
    SESSION: EVERYONE,
    "customers.read": EVERYONE,
    "customers.write": SELLERS,
    "customers.delete": ADMIN,
    "customers.review": SELLERS,
    "followups.read": EVERYONE,
    "followups.write": SELLERS,
    "followups.plan": ADMIN,
    "tickets.read": EVERYONE,
    "tickets.write": EVERYONE,
    # Downloading any attachment; removing one is for admins or its uploader (the owning
    # service checks which).
    "attachments.read": EVERYONE,
    "attachments.delete": EVERYONE,
    "sla.read": EVERYONE,
    "sla.write": ADMIN,
    "departments.read": EVERYONE,
    "departments.write": ADMIN,
    "notifications.own": EVERYONE,
    "webhooks.manage": ADMIN,
    "reports.read": SELLERS,
    "reports.build": ADMIN,
    "deadletters.manage": ADMIN,
    "tasks.read": EVERYONE,
    "tasks.write": EVERYONE,
    "rules.read": EVERYONE,
    "rules.write": ADMIN,
}


def is_allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]
