"""The caller's inbox, and the webhook subscriptions and delivery log (admins)."""
from flask import Blueprint

from gateway.api.endpoint import endpoint, json_body, query_args, rpc
from services.notification.schemas import (
    DeliveryFilterSchema, DeliverySchema, InboxFilterSchema, LanguageSchema, NotificationSchema,
    WebhookInputSchema, WebhookSchema,
)

blueprint = Blueprint("notifications", __name__)


@endpoint(blueprint, "/notifications", "GET", "The caller's notifications, newest first.",
          "notifications.own", query=InboxFilterSchema, response=NotificationSchema,
          paged=True, errors=(422,))
def list_notifications():
    return rpc("notifications", "inbox", query_args())


@endpoint(blueprint, "/notifications/<entry_id>/read", "POST",
          "Mark one of the caller's notifications read.", "notifications.own",
          query=LanguageSchema, response=NotificationSchema, errors=(404, 422))
def mark_read(entry_id):
    return rpc("notifications", "mark_read", entry_id, query_args().get("lang", "en"))


@endpoint(blueprint, "/webhooks", "POST", "Subscribe a URL (resolving to a public address) to "
          "event types. Each delivery is a JSON POST of the event envelope with "
          "X-Deskflow-Timestamp (Unix seconds), X-Deskflow-Signature: sha256=<hex HMAC-SHA256 "
          "with the secret of '<timestamp>.<raw body>'>, X-Deskflow-Event and "
          "X-Deskflow-Delivery (kept across retries); any non-2xx answer is retried with "
          "exponential backoff.",
          "webhooks.manage", body=WebhookInputSchema, response=WebhookSchema, status=201,
          errors=(422,))
def create_webhook():
    return rpc("notifications", "create_webhook", json_body())


@endpoint(blueprint, "/webhooks", "GET", "The webhook subscriptions.", "webhooks.manage",
          response=WebhookSchema, many=True)
def list_webhooks():
    return rpc("notifications", "list_webhooks")


@endpoint(blueprint, "/webhooks/<webhook_id>", "DELETE", "Remove a subscription.",
          "webhooks.manage", status=204, errors=(404,))
def delete_webhook(webhook_id):
    rpc("notifications", "delete_webhook", webhook_id)


@endpoint(blueprint, "/webhooks/<webhook_id>/deliveries", "GET",
          "One subscription's delivery log, newest first.", "webhooks.manage",
          query=DeliveryFilterSchema, response=DeliverySchema, paged=True, errors=(404, 422))
def webhook_deliveries(webhook_id):
    return rpc("notifications", "deliveries", query_args(), webhook_id)


@endpoint(blueprint, "/deliveries", "GET", "The delivery log of every channel, newest first.",
          "webhooks.manage", query=DeliveryFilterSchema, response=DeliverySchema, paged=True,
          errors=(422,))
def list_deliveries():
    return rpc("notifications", "deliveries", query_args())
