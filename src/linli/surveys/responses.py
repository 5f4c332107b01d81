"""Taking answers: online through an invitation's link, or from paper, entered by staff.

One response per resident holds in the database, whatever the channel: the invitation
is claimed with a conditional update (only one transaction can turn ``answered`` from
false to true), and the response row is unique per invitation and per resident. For
an anonymous questionnaire the response stores neither: the claim on the invitation,
made in the same transaction, is what keeps it to one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.audit.services import audit_record
from linli.surveys.models import (
    CHOICE_KINDS,
    SCALES,
    Answer,
    Invitation,
    Kind,
    Question,
    Questionnaire,
    Response,
    ResponseChannel,
    Status,
)

ANSWER_TEXT_MAX = 2000
AnswerValue = int | list[int] | str | None


class AlreadyAnswered(ValidationError):
    """This invitation (this resident) has already answered; nothing was written."""


def field_name(question: Question) -> str:
    return f"q{question.pk}"


def questions_of(questionnaire: Questionnaire) -> list[Question]:
    return list(questionnaire.questions.select_related("dimension").prefetch_related("options").order_by("order", "id"))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit() and len(text) <= 6:
        return int(text)
    return None


def clean_answers(questions: list[Question], raw: Mapping[int, Any]) -> dict[int, AnswerValue]:
    """Check every answer against its question; errors are keyed ``q<id>`` (the form's
    field names) and say in words what is wrong."""
    known = {question.pk for question in questions}
    stray = [key for key in raw if key not in known and not _is_empty(raw[key])]
    if stray:
        raise ValidationError(_("答卷中有不属于本问卷的题目，请刷新页面后重新填写。"))
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, AnswerValue] = {}
    for question in questions:
        value = raw.get(question.pk)
        key = field_name(question)
        if _is_empty(value):
            if question.required:
                errors[key] = [_("请回答这道题。")]
            continue
        scale = SCALES.get(question.kind)
        option_ids = {option.pk for option in question.options.all()}
        if scale is not None:
            number = _as_int(value)
            if number is None or not scale[0] <= number <= scale[1]:
                errors[key] = [_("请选择 %(low)s 到 %(high)s 之间的分数。") % {"low": scale[0], "high": scale[1]}]
                continue
            cleaned[question.pk] = number
        elif question.kind == Kind.SINGLE:
            choice = _as_int(value)
            if choice is None or choice not in option_ids:
                errors[key] = [_("请从选项中选择一项。")]
                continue
            cleaned[question.pk] = choice
        elif question.kind == Kind.MULTIPLE:
            values = value if isinstance(value, list | tuple) else [value]
            choices = [_as_int(v) for v in values]
            if any(c is None or c not in option_ids for c in choices):
                errors[key] = [_("请从选项中选择。")]
                continue
            unique = sorted({c for c in choices if c is not None})
            if question.max_choices and len(unique) > question.max_choices:
                errors[key] = [_("最多选 %(n)s 项，您选了 %(m)s 项。") % {"n": question.max_choices, "m": len(unique)}]
                continue
            cleaned[question.pk] = unique
        else:
            text = str(value).strip()
            if len(text) > ANSWER_TEXT_MAX:
                errors[key] = [_("最多 %(n)s 个字。") % {"n": ANSWER_TEXT_MAX}]
                continue
            if text:
                cleaned[question.pk] = text
            elif question.required:
                errors[key] = [_("请回答这道题。")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def answering_problem(questionnaire: Questionnaire, *, at: datetime, channel: str) -> str:
    """Why answers cannot be taken now ("" when they can). Paper collected before the
    deadline may be entered after it, while the questionnaire is still open."""
    if questionnaire.status == Status.DRAFT:
        return _("问卷尚未开始。")
    if questionnaire.status == Status.CLOSED:
        return _("问卷已结束，感谢您的关注。")
    if channel == ResponseChannel.WEB:
        if questionnaire.opens_at and at < questionnaire.opens_at:
            return _("问卷尚未开始。")
        if questionnaire.closes_at and at >= questionnaire.closes_at:
            return _("问卷已截止，感谢您的关注。")
    return ""


def _answer_rows(response: Response, questions: list[Question], cleaned: dict[int, AnswerValue]) -> list[Answer]:
    rows = []
    for question in questions:
        if question.pk not in cleaned:
            continue
        value = cleaned[question.pk]
        base = {"response": response, "questionnaire_id": response.questionnaire_id, "question": question}
        if question.kind in CHOICE_KINDS:
            for option_id in value if isinstance(value, list) else [value]:
                rows.append(Answer(**base, option_id=option_id))
        elif question.kind == Kind.TEXT:
            rows.append(Answer(**base, text=str(value)))
        else:
            rows.append(Answer(**base, number=int(value) if isinstance(value, int) else None))
    return rows


def response_submit(*, invitation: Invitation, answers: Mapping[int, Any], channel: str = ResponseChannel.WEB,
                    by: User | None = None, at: datetime | None = None) -> Response:
    """Store one resident's answers. ``by`` is the member of staff who enters a paper
    questionnaire (``channel=paper``). Raises ``AlreadyAnswered`` when this invitation
    has answered before (on any channel), ``ValidationError`` for bad answers."""
    at = at or timezone.now()
    questionnaire = invitation.questionnaire
    if channel not in ResponseChannel.values:
        raise ValidationError(_("未知的渠道。"))
    if channel == ResponseChannel.PAPER and by is None:
        raise ValidationError(_("纸质问卷须由工作人员录入。"))
    problem = answering_problem(questionnaire, at=at, channel=channel)
    if problem:
        raise ValidationError(problem)
    questions = questions_of(questionnaire)
    cleaned = clean_answers(questions, answers)
    anonymous = questionnaire.anonymous
    try:
        with transaction.atomic():
            claimed = Invitation.objects.filter(pk=invitation.pk, answered=False).update(
                answered=True, answered_at=None if anonymous else at)
            if not claimed:
                raise AlreadyAnswered(_("这份问卷已经提交过了，每位居民只能填写一次。"))
            response = Response.objects.create(
                questionnaire=questionnaire, community_id=invitation.community_id, grid_id=invitation.grid_id,
                anonymous=anonymous, channel=channel, entered_by=by if channel == ResponseChannel.PAPER else None,
                invitation=None if anonymous else invitation,
                resident_id=None if anonymous else invitation.resident_id,
                submitted_at=None if anonymous else at,
            )
            Answer.objects.bulk_create(_answer_rows(response, questions, cleaned), batch_size=500)
            if channel == ResponseChannel.PAPER:
                # The audit names the paper's invitation only when the answers are not
                # anonymous: otherwise the event's time would date the anonymous sheet.
                audit_record(actor=by, action="surveys.paper_entry", obj=questionnaire,
                             community_id=questionnaire.community_id,
                             after={"invitation": invitation.pk} if not anonymous else {"anonymous": True})
    except IntegrityError:
        # The unique constraints caught a second response that the claim did not (a
        # response entered while the invitation row was being changed by hand).
        raise AlreadyAnswered(_("这份问卷已经提交过了，每位居民只能填写一次。")) from None
    invitation.answered = True
    invitation.answered_at = None if anonymous else at
    return response


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def invitation_by_code(questionnaire: Questionnaire, code: str) -> Invitation | None:
    """The invitation whose short code is printed on a paper questionnaire."""
    wanted = normalise_code(code)
    if not wanted or len(wanted) > 12:
        return None
    return (Invitation.objects.select_related("questionnaire", "resident")
            .filter(questionnaire=questionnaire, code=wanted).first())
