"""``deploy/rabbitmq/definitions.json`` applied to the shared broker on a throwaway vhost, with
its users made under unique names (and passwords) and removed afterwards. The guest user and
the existing vhosts are never touched."""
import json
import secrets
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "deploy/rabbitmq/definitions.json"
VHOST_SCOPED = ("exchanges", "queues", "bindings")


class DeployedBroker:
    def __init__(self, vhost: str, names: dict, passwords: dict):
        self.vhost = vhost
        self.names = names  # the name in the definitions → the name made here
        self.passwords = passwords

    def uri(self, user: str) -> str:
        """The AMQP URI of the definitions' ``user`` on the throwaway vhost."""
        name = self.names[user]
        return (f"amqp://{quote(name, safe='')}:{self.passwords[name]}@127.0.0.1:5672/"
                f"{quote(self.vhost, safe='')}")


@contextmanager
def deployed_broker(rabbit_manager, path: Path = DEFINITIONS):
    """The users, permissions, exchanges, queues and bindings of ``path`` on a new vhost.
    (``rabbit_manager`` is Nameko's management API client; its request helpers reach the
    endpoints it has no method for.)"""
    definitions = json.loads(path.read_text())
    suffix = uuid.uuid4().hex[:8]
    vhost = f"deskflow_broker_{suffix}"
    names = {user["name"]: f"{user['name']}-test-{suffix}" for user in definitions["users"]}
    passwords = {name: secrets.token_hex(16) for name in names.values()}
    rabbit_manager.create_vhost(vhost)
    rabbit_manager.set_vhost_permissions(vhost, "guest", ".*", ".*", ".*")  # to inspect it
    try:
        for name, password in passwords.items():
            rabbit_manager._put("users", name, json={"password": password, "tags": ""})
        for grant in definitions["permissions"]:
            rabbit_manager._put("permissions", vhost, names[grant["user"]], json={
                key: grant[key] for key in ("configure", "write", "read")})
        for grant in definitions.get("topic_permissions", []):
            rabbit_manager._put("topic-permissions", vhost, names[grant["user"]], json={
                key: grant[key] for key in ("exchange", "write", "read")})
        rabbit_manager._post("definitions", vhost, json={
            kind: [{key: value for key, value in item.items() if key != "vhost"}
                   for item in definitions.get(kind, [])] for kind in VHOST_SCOPED})
        yield DeployedBroker(vhost, names, passwords)
    finally:
        rabbit_manager.delete_vhost(vhost)
        for name in passwords:
            try:
                rabbit_manager._delete("users", name)
            except Exception:  # never made: a failure above came first
                pass
