"""The survey link of an outcome notice, asked of the ticket service while the email is
composed: the ``ticket.customer_notified`` event names the survey, never its token."""
from services.common.config import settings_from
from services.common.dead_letters import ScreenedRpcProxy
from services.common.errors import Conflict, Gone, NotFound
from services.common.lookups import answer_of


class SurveyLinks(ScreenedRpcProxy):
    """Gives each worker ``survey_link(survey_id)``: the link with a fresh token, or None
    when the survey was answered or expired in the meantime (the email then asks for a
    reply instead). A silent ticket service is ``Unavailable``, so the event is retried."""

    def __init__(self, **kwargs):
        super().__init__("tickets", **kwargs)

    def setup(self):
        self.timeout = settings_from(self.container.config).rpc_timeout

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)

        def survey_link(survey_id: int) -> str | None:
            try:
                return answer_of(proxy, "survey_link", self.timeout, survey_id)["url"]
            except (Conflict, Gone, NotFound):
                return None

        return survey_link
