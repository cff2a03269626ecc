"""Who may do what: one table, read by the API, the OpenAPI document and the tests."""
ROLES = ("admin", "sales", "support")
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
ADMIN_AND_SALES = frozenset({"admin", "sales"})

PERMISSIONS = {
    "users.manage": ADMIN,
    "customers.read": EVERYONE,
    "customers.write": ADMIN_AND_SALES,
    "customers.delete": ADMIN,
    "followups.read": EVERYONE,
    "followups.write": ADMIN_AND_SALES,
    "followups.plan": ADMIN,
    "tickets.read": EVERYONE,
    "tickets.write": EVERYONE,
    "sla.read": EVERYONE,
    "sla.write": ADMIN,
    "notifications.own": EVERYONE,
    "webhooks.manage": ADMIN,
    "reports.read": ADMIN_AND_SALES,
}


def is_allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]
