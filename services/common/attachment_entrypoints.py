"""The attachment entrypoints a service keeping attachment metadata shares with the other
(:mod:`services.common.attachments`): reading one, removing one, and telling the gateway's
garbage collection which stored files it still points at. A service class inherits them and
names its model, schema and removal event; adding and listing stay its own (their parents
differ)."""
from services.common import attachments
from services.common.dead_letters import rpc
from services.common.errors import EXPECTED_ERRORS
from services.common.work import idempotent


class AttachmentEntrypoints:
    attachment_model = None
    attachment_schema = None
    attachment_removed = None  # the event type of a removal

    def attachment_parent(self, attachment) -> dict:
        """What the removal event carries besides the attachment (e.g. its ticket)."""
        return {}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_attachment(self, attachment_id):
        return attachments.get(self.uow, self.attachment_model, self.attachment_schema,
                               attachment_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    @idempotent
    def remove_attachment(self, attachment_id):
        attachments.remove(self.uow, self.attachment_model, self.attachment_schema,
                           self.attachment_removed, attachment_id, self.attachment_parent)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def referenced_files(self, sha256s):
        """Which of these stored files an attachment here still points at."""
        return attachments.referenced(self.uow.session, self.attachment_model, sha256s)
