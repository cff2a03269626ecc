"""The satisfaction survey (满意度调查): reaching done makes one, the outcome notice asks for
it by id, and whoever writes the email gets its link with :func:`issue_link`; the customer
answers it once, without logging in.

The token never travels in an event (events reach webhooks and the reporting log), and only
its SHA-256 is kept. So a link cannot be shown twice: issuing one makes a new token and the
one issued before stops working. The notification service issues it while composing the
email, in the same attempt that stores the email, so the link sent is the one that works."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from services.common.errors import Conflict, Gone, NotFound, TooManyRequests
from services.common.schemas import load_or_422, schema_of
from services.ticket.models import Survey, SurveyAttempt, Ticket
from services.ticket.ratings import record_rating
from services.ticket.schemas import (
    COOPERATE_AGAIN, OVERALL_SCORES, SurveyInputSchema, SurveySchema,
)

TOKEN_BYTES = 32  # 256 random bits
SURVEY_RATER = "customer"
QUESTIONS = (
    ("overall", "choice", True, list(OVERALL_SCORES),
     {"en": "Overall, how satisfied are you with how we handled this?",
      "zh": "您对本次处理的总体评价？"}),
    ("quality", "score", False, [1, 2, 3, 4, 5],
     {"en": "Quality of the service (1-5)", "zh": "服务质量（1-5 分）"}),
    ("speed", "score", False, [1, 2, 3, 4, 5],
     {"en": "Speed of the response (1-5)", "zh": "响应速度（1-5 分）"}),
    ("effectiveness", "score", False, [1, 2, 3, 4, 5],
     {"en": "Effectiveness of the solution (1-5)", "zh": "解决效果（1-5 分）"}),
    ("nps_score", "score", False, list(range(11)),
     {"en": "How likely are you to recommend us (0-10)?", "zh": "您向他人推荐我们的可能性（0-10 分）？"}),
    ("would_cooperate_again", "choice", False, list(COOPERATE_AGAIN),
     {"en": "Would you work with us again?", "zh": "您是否愿意继续合作？"}),
    ("comment", "text", False, [], {"en": "Anything else?", "zh": "其他意见或建议"}),
)


@dataclass(frozen=True)
class SurveyOptions:
    url: str             # the link template, with {token}
    ttl: timedelta
    rate_limit: int      # requests per address per window
    rate_window: timedelta

    @classmethod
    def from_settings(cls, settings) -> "SurveyOptions":
        return cls(settings.survey_url, timedelta(days=settings.survey_ttl_days),
                   settings.survey_rate_limit,
                   timedelta(seconds=settings.survey_rate_window_seconds))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_survey(uow, ticket: Ticket, now: datetime, options: SurveyOptions) -> int:
    """A new survey for the ticket (an older unanswered one expires now); returns its id.
    Its first token is never shown: the link comes from :func:`issue_link`."""
    for older in uow.session.scalars(select(Survey).where(
            Survey.ticket_id == ticket.id, Survey.used_at.is_(None), Survey.expires_at > now)):
        older.expires_at = now
    survey = Survey(token_hash=_hash(secrets.token_urlsafe(TOKEN_BYTES)), ticket_id=ticket.id,
                    created_at=now, expires_at=now + options.ttl)
    uow.session.add(survey)
    uow.session.flush()
    return survey.id


def issue_link(uow, survey_id: int, options: SurveyOptions) -> dict:
    """A link to the survey with a new token (the previous one stops working); 404 for an
    unknown survey, 409 for an answered one, 410 for an expired one."""
    survey = uow.session.scalars(select(Survey).where(Survey.id == survey_id)
                                 .with_for_update()).first()
    if survey is None:
        raise NotFound("No such survey.", {"survey_id": survey_id})
    _check_usable(survey, uow.now())
    token = secrets.token_urlsafe(TOKEN_BYTES)
    survey.token_hash = _hash(token)
    expires_at = survey.expires_at.isoformat()
    uow.commit()
    return {"url": options.url.format(token=token), "expires_at": expires_at}


def _count_attempt(uow, address: str, options: SurveyOptions) -> None:
    """Every request counts, found or not, so guessing tokens is slow; 429 past the limit."""
    now = uow.now()
    recent = uow.session.scalar(select(func.count()).select_from(SurveyAttempt).where(
        SurveyAttempt.address == address, SurveyAttempt.at > now - options.rate_window))
    if recent >= options.rate_limit:
        uow.rollback()
        raise TooManyRequests("Too many survey requests from this address; try again later.",
                              {"retry_after_seconds": int(options.rate_window.total_seconds())})
    uow.session.add(SurveyAttempt(address=address, at=now))
    uow.commit()


def _usable_survey(uow, token: str, for_update: bool = False) -> Survey:
    statement = select(Survey).where(Survey.token_hash == _hash(token))
    survey = uow.session.scalars(statement.with_for_update() if for_update else statement).first()
    if survey is None:
        raise NotFound("No such survey.", {})
    _check_usable(survey, uow.now())
    return survey


def _check_usable(survey: Survey, now: datetime) -> None:
    if survey.used_at is not None:
        raise Conflict("This survey has already been answered.", {"answered_at": survey.used_at.isoformat()})
    if survey.expires_at <= now:
        raise Gone("This survey has expired.", {"expired_at": survey.expires_at.isoformat()})


def show_survey(uow, token: str, address: str, options: SurveyOptions) -> dict:
    _count_attempt(uow, address, options)
    survey = _usable_survey(uow, token)
    ticket = uow.session.get(Ticket, survey.ticket_id)
    lang = ticket.language
    questions = [{"name": name, "kind": kind, "required": required, "choices": choices,
                  "text": text[lang]} for name, kind, required, choices, text in QUESTIONS]
    shown = schema_of(SurveySchema).dump({
        "ticket_id": ticket.id, "title": ticket.title, "language": lang,
        "expires_at": survey.expires_at, "questions": questions})
    uow.rollback()
    return shown


def answer_survey(uow, token: str, payload: dict, address: str, options: SurveyOptions) -> dict:
    """Record the customer's answers as the ticket's rating; the token is used up."""
    _count_attempt(uow, address, options)
    answers = load_or_422(schema_of(SurveyInputSchema), payload)
    survey = _usable_survey(uow, token, for_update=True)
    ticket = uow.session.scalars(select(Ticket).where(Ticket.id == survey.ticket_id)
                                 .with_for_update()).one()
    now = uow.now()
    survey.used_at = now
    answers["score"] = OVERALL_SCORES[answers.pop("overall")]
    shown = record_rating(uow, ticket, {**answers, "collected_via": "survey"}, SURVEY_RATER, now)
    uow.commit()
    return shown
