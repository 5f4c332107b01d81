"""Every write to a questionnaire: create (blank or from a template), edit its settings,
dimensions, questions and options, open, close and copy.

Questions are fixed once the first response exists: changing a question that has been
answered would change what the answers mean. From then on a questionnaire can only be
closed, or copied into a new draft. Every change locks the questionnaire row first, so
two members of staff editing at once never interleave half-done orders.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.audit.services import audit_record
from linli.places.models import Place, PlaceKind
from linli.surveys.catalogue import TEMPLATES, QuestionSpec
from linli.surveys.models import (
    CHOICE_KINDS,
    Answer,
    Dimension,
    Invitation,
    Kind,
    Mechanism,
    Option,
    Question,
    Questionnaire,
    Response,
    Status,
)

TITLE_MAX = 120
INTRO_MAX = 2000
PURPOSE_MAX = 300
TEXT_MAX = 300
LABEL_MAX = 30
OPTION_MAX = 120
OPTIONS_MAX = 30
QUESTIONS_MAX = 200
RETENTION_MAX = 120  # months
PLACE_KINDS = (PlaceKind.COMMUNITY, PlaceKind.STREET)
DIMENSION_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
QUESTION_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,23}$")


# Helpers --------------------------------------------------------------------------------

def _text(value: str | None, *, field: str, max_length: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: [_("请填写此项。")]})
    if len(text) > max_length:
        raise ValidationError({field: [_("最多 %(n)s 个字。") % {"n": max_length}]})
    return text


def _lock(questionnaire: Questionnaire) -> Questionnaire:
    return Questionnaire.objects.select_for_update().select_related("place").get(pk=questionnaire.pk)


def has_responses(questionnaire: Questionnaire) -> bool:
    return Response.objects.filter(questionnaire=questionnaire).exists()


def editable_problem(questionnaire: Questionnaire) -> str:
    """Why the questions cannot be changed now ("" when they can)."""
    if questionnaire.status == Status.CLOSED:
        return _("问卷已结束，不能再修改；如需再次调查，请复制一份新问卷。")
    if has_responses(questionnaire):
        return _("问卷已有答卷，题目不能再修改（否则答案的含义会改变）；可以结束问卷，或复制一份新问卷再修改。")
    return ""


def _require_editable(questionnaire: Questionnaire) -> None:
    problem = editable_problem(questionnaire)
    if problem:
        raise ValidationError(problem)


def _audit(by: Any, action: str, questionnaire: Questionnaire, **after: Any) -> None:
    audit_record(actor=by if isinstance(by, User) else None, action=f"surveys.{action}", obj=questionnaire,
                 after=after or None, community_id=questionnaire.community_id)


def _check_period(opens_at: datetime | None, closes_at: datetime | None) -> None:
    if opens_at and closes_at and closes_at <= opens_at:
        raise ValidationError({"closes_at": [_("截止时间应晚于开始时间。")]})


def _retention(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= RETENTION_MAX:
        raise ValidationError({"retention_months": [_("保存期限应为 1 到 %(n)s 个月。") % {"n": RETENTION_MAX}]})
    return value


# Questionnaires --------------------------------------------------------------------------

def questionnaire_create(
    *, place: Place, title: str, by: User | None, intro: str = "", anonymous: bool = True, purpose: str = "",
    retention_months: int = 36, opens_at: datetime | None = None, closes_at: datetime | None = None,
    template: str = "", at: datetime | None = None,
) -> Questionnaire:
    if place.kind not in PLACE_KINDS:
        raise ValidationError({"place": [_("问卷的范围应是一个社区或一个街道。")]})
    _check_period(opens_at, closes_at)
    with transaction.atomic():
        questionnaire = Questionnaire.objects.create(
            title=_text(title, field="title", max_length=TITLE_MAX),
            intro=_text(intro, field="intro", max_length=INTRO_MAX, required=False),
            purpose=_text(purpose, field="purpose", max_length=PURPOSE_MAX, required=False),
            retention_months=_retention(retention_months), place=place, place_path=place.path,
            community_id=place.community_id if place.kind == PlaceKind.COMMUNITY else None,
            anonymous=anonymous, opens_at=opens_at, closes_at=closes_at, template=template,
            created_by=by, created_at=at or timezone.now(),
        )
        _audit(by, "questionnaire_create", questionnaire, title=questionnaire.title, place=place.pk,
               template=template)
    return questionnaire


SETTINGS_FIELDS = ("title", "intro", "purpose", "retention_months", "anonymous", "opens_at", "closes_at")


def questionnaire_update(*, questionnaire: Questionnaire, by: User | None, **changes: Any) -> Questionnaire:
    """Change the settings (``SETTINGS_FIELDS``); refused once answers exist, since the
    residents answered under these words and this promise of anonymity."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(_("不能修改：%(fields)s") % {"fields": ", ".join(sorted(unknown))})
    with transaction.atomic():
        questionnaire = _lock(questionnaire)
        _require_editable(questionnaire)
        values = {name: getattr(questionnaire, name) for name in SETTINGS_FIELDS}
        values.update(changes)
        values["title"] = _text(values["title"], field="title", max_length=TITLE_MAX)
        values["intro"] = _text(values["intro"], field="intro", max_length=INTRO_MAX, required=False)
        values["purpose"] = _text(values["purpose"], field="purpose", max_length=PURPOSE_MAX, required=False)
        values["retention_months"] = _retention(values["retention_months"])
        values["anonymous"] = bool(values["anonymous"])
        _check_period(values["opens_at"], values["closes_at"])
        if questionnaire.invitations.exists() and values["anonymous"] != questionnaire.anonymous:
            raise ValidationError({"anonymous": [_("问卷已发出邀请，不能再改变是否匿名（居民收到时已被告知）。")]})
        for name, value in values.items():
            setattr(questionnaire, name, value)
        questionnaire.save()
        _audit(by, "questionnaire_update", questionnaire, fields=sorted(changes))
    return questionnaire


def questionnaire_open(*, questionnaire: Questionnaire, by: User | None, at: datetime | None = None) -> Questionnaire:
    at = at or timezone.now()
    with transaction.atomic():
        questionnaire = _lock(questionnaire)
        if questionnaire.status != Status.DRAFT:
            raise ValidationError(_("只有草稿状态的问卷可以开始。"))
        questions = list(questionnaire.questions.prefetch_related("options"))
        if not questions:
            raise ValidationError(_("问卷还没有题目，请先添加题目。"))
        for question in questions:
            if question.kind in CHOICE_KINDS and len(question.options.all()) < 2:
                raise ValidationError(_("选择题“%(text)s”至少需要两个选项。") % {"text": question.text})
        if questionnaire.closes_at and questionnaire.closes_at <= at:
            raise ValidationError({"closes_at": [_("截止时间已过，请先修改截止时间。")]})
        questionnaire.status = Status.OPEN
        questionnaire.save(update_fields=["status", "updated_at"])
        _audit(by, "questionnaire_open", questionnaire)
    return questionnaire


def questionnaire_close(*, questionnaire: Questionnaire, by: User | None) -> Questionnaire:
    with transaction.atomic():
        questionnaire = _lock(questionnaire)
        if questionnaire.status != Status.OPEN:
            raise ValidationError(_("只有进行中的问卷可以结束。"))
        questionnaire.status = Status.CLOSED
        questionnaire.closed_at = timezone.now()
        questionnaire.save(update_fields=["status", "closed_at", "updated_at"])
        _audit(by, "questionnaire_close", questionnaire)
    return questionnaire


def add_months(at: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month_index = at.month - 1 + months
    year, month = at.year + month_index // 12, month_index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def retention_ends(questionnaire: Questionnaire) -> datetime | None:
    if questionnaire.closed_at is None:
        return None
    return add_months(questionnaire.closed_at, questionnaire.retention_months)


def questionnaires_purge_expired(*, at: datetime | None = None) -> int:
    """What residents were promised (DOMAIN §6): when a closed questionnaire's retention
    period has run out, its answers lose every link to a person. Named sheets become
    anonymous, written answers (which may name someone) are deleted, and the invitations
    (who was asked, who answered) go; the numbers stay for the statistics. Returns how
    many questionnaires were purged; running it again purges nothing new."""
    at = at or timezone.now()
    purged = 0
    candidates = Questionnaire.objects.filter(status=Status.CLOSED, closed_at__isnull=False, purged_at__isnull=True)
    for questionnaire in candidates:
        ends = retention_ends(questionnaire)
        if ends is None or ends > at:
            continue
        with transaction.atomic():
            locked = _lock(questionnaire)
            if locked.purged_at is not None:
                continue
            Response.objects.filter(questionnaire=locked).update(anonymous=True, invitation=None, resident=None,
                                                                 submitted_at=None)
            Answer.objects.filter(questionnaire=locked, question__kind=Kind.TEXT).delete()
            Invitation.objects.filter(questionnaire=locked).delete()
            locked.purged_at = at
            locked.save(update_fields=["purged_at", "updated_at"])
            _audit(None, "questionnaire_purge", locked, retention_months=locked.retention_months)
        purged += 1
    return purged


def _copy_structure(source: Questionnaire, target: Questionnaire) -> None:
    dimensions = {}
    for dimension in source.dimensions.all():
        dimensions[dimension.pk] = Dimension.objects.create(
            questionnaire=target, code=dimension.code, name=dimension.name, mechanism=dimension.mechanism,
            mode=dimension.mode, order=dimension.order)
    for question in source.questions.prefetch_related("options"):
        copy = Question.objects.create(
            questionnaire=target, dimension=dimensions.get(question.dimension_id or 0), kind=question.kind,
            code=question.code, text=question.text, help=question.help, required=question.required,
            order=question.order, max_choices=question.max_choices, low_label=question.low_label,
            high_label=question.high_label)
        Option.objects.bulk_create([Option(question=copy, label=o.label, order=o.order) for o in question.options.all()])


def questionnaire_copy(*, questionnaire: Questionnaire, by: User | None, place: Place | None = None) -> Questionnaire:
    """A new draft with the same settings, dimensions, questions and options (for the
    next round of a survey, or to change questions that have been answered)."""
    with transaction.atomic():
        copy = questionnaire_create(
            place=place or questionnaire.place, title=(_("%(title)s（副本）") % {"title": questionnaire.title})[:TITLE_MAX],
            by=by, intro=questionnaire.intro, anonymous=questionnaire.anonymous, purpose=questionnaire.purpose,
            retention_months=questionnaire.retention_months, template=questionnaire.template,
        )
        copy.copied_from = questionnaire
        copy.save(update_fields=["copied_from"])
        _copy_structure(questionnaire, copy)
        _audit(by, "questionnaire_copy", copy, source=questionnaire.pk)
    return copy


def _spec_question(questionnaire: Questionnaire, dimension: Dimension | None, spec: QuestionSpec,
                   order: int) -> None:
    question = Question.objects.create(
        questionnaire=questionnaire, dimension=dimension, kind=spec.kind, code=spec.code, text=_(spec.text),
        help=_(spec.help) if spec.help else "", required=spec.required, order=order,
        max_choices=spec.max_choices,
        low_label=_(spec.labels[0]) if spec.kind not in CHOICE_KINDS and spec.kind != Kind.TEXT else "",
        high_label=_(spec.labels[1]) if spec.kind not in CHOICE_KINDS and spec.kind != Kind.TEXT else "",
    )
    Option.objects.bulk_create([Option(question=question, label=_(label), order=i)
                                for i, label in enumerate(spec.options)])


def questionnaire_from_template(*, template: str, place: Place, by: User | None) -> Questionnaire:
    """Install a ready questionnaire (``catalogue.TEMPLATES``) as a draft at ``place``,
    in the language active now."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise ValidationError({"template": [_("没有这个模板。")]})
    with transaction.atomic():
        questionnaire = questionnaire_create(place=place, title=_(spec.title), intro=_(spec.intro),
                                             purpose=_(spec.purpose), by=by, template=template)
        order = 0
        for position, dim in enumerate(spec.dimensions):
            dimension = Dimension.objects.create(questionnaire=questionnaire, code=dim.code, name=_(dim.name),
                                                 mechanism=dim.mechanism, order=position)
            for question in dim.questions:
                order += 1
                _spec_question(questionnaire, dimension, question, order)
        for question in spec.extra:
            order += 1
            _spec_question(questionnaire, None, question, order)
    return questionnaire


# Dimensions ------------------------------------------------------------------------------

def _dimension_fields(questionnaire: Questionnaire, *, code: str, name: str, mechanism: str, mode: str,
                      exclude: int | None = None) -> dict[str, Any]:
    code = (code or "").strip().upper()
    if not DIMENSION_CODE.match(code):
        raise ValidationError({"code": [_("编码应以英文字母开头，由大写字母、数字或下划线组成，最多 16 位，如 COMM。")]})
    taken = questionnaire.dimensions.filter(code=code)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ValidationError({"code": [_("编码 %(code)s 已被本问卷的其他维度使用。") % {"code": code}]})
    if mechanism not in Mechanism.values:
        raise ValidationError({"mechanism": [_("请选择对应的工作机制。")]})
    if mode not in ("A", "B"):
        raise ValidationError({"mode": [_("测量模式应为 A 或 B。")]})
    return {"code": code, "name": _text(name, field="name", max_length=60), "mechanism": mechanism, "mode": mode}


def dimension_add(*, questionnaire: Questionnaire, code: str, name: str, by: User | None,
                  mechanism: str = Mechanism.OTHER, mode: str = "A") -> Dimension:
    with transaction.atomic():
        questionnaire = _lock(questionnaire)
        _require_editable(questionnaire)
        fields = _dimension_fields(questionnaire, code=code, name=name, mechanism=mechanism, mode=mode)
        last = questionnaire.dimensions.aggregate(m=Max("order"))["m"]
        dimension = Dimension.objects.create(questionnaire=questionnaire, order=(last or 0) + 1, **fields)
        _audit(by, "dimension_add", questionnaire, dimension=dimension.pk, code=dimension.code)
    return dimension


def dimension_update(*, dimension: Dimension, by: User | None, code: str, name: str, mechanism: str,
                     mode: str = "A") -> Dimension:
    with transaction.atomic():
        questionnaire = _lock(dimension.questionnaire)
        _require_editable(questionnaire)
        fields = _dimension_fields(questionnaire, code=code, name=name, mechanism=mechanism, mode=mode,
                                   exclude=dimension.pk)
        Dimension.objects.filter(pk=dimension.pk).update(**fields)
        for name_, value in fields.items():
            setattr(dimension, name_, value)
        _audit(by, "dimension_update", questionnaire, dimension=dimension.pk, code=dimension.code)
    return dimension


def dimension_delete(*, dimension: Dimension, by: User | None) -> None:
    """Its questions stay, outside any dimension."""
    with transaction.atomic():
        questionnaire = _lock(dimension.questionnaire)
        _require_editable(questionnaire)
        _audit(by, "dimension_delete", questionnaire, dimension=dimension.pk, code=dimension.code)
        dimension.delete()


# Questions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuestionInput:
    """What the builder form gives for one question."""

    kind: str
    text: str
    dimension: Dimension | None = None
    code: str = ""
    help: str = ""
    required: bool = True
    max_choices: int = 0
    low_label: str = ""
    high_label: str = ""
    options: Sequence[str] = ()


def _clean_options(kind: str, options: Sequence[str]) -> list[str]:
    if kind not in CHOICE_KINDS:
        return []
    labels = [label.strip() for label in options if label and label.strip()]
    if len(labels) < 2:
        raise ValidationError({"options": [_("选择题至少需要两个选项（每行一个）。")]})
    if len(labels) > OPTIONS_MAX:
        raise ValidationError({"options": [_("选项最多 %(n)s 个。") % {"n": OPTIONS_MAX}]})
    for label in labels:
        if len(label) > OPTION_MAX:
            raise ValidationError({"options": [_("每个选项最多 %(n)s 个字：%(label)s…")
                                               % {"n": OPTION_MAX, "label": label[:20]}]})
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise ValidationError({"options": [_("选项“%(label)s”重复了。") % {"label": label}]})
        seen.add(label)
    return labels


def _question_fields(questionnaire: Questionnaire, data: QuestionInput, *,
                     exclude: int | None = None) -> tuple[dict[str, Any], list[str]]:
    if data.kind not in Kind.values:
        raise ValidationError({"kind": [_("请选择题型。")]})
    code = (data.code or "").strip()
    if code:
        if not QUESTION_CODE.match(code):
            raise ValidationError({"code": [_("题目编码应以英文字母开头，由字母、数字或下划线组成，最多 24 位，如 COMM1。")]})
        taken = questionnaire.questions.filter(code=code)
        if exclude is not None:
            taken = taken.exclude(pk=exclude)
        if taken.exists():
            raise ValidationError({"code": [_("编码 %(code)s 已被本问卷的其他题目使用。") % {"code": code}]})
    if data.dimension is not None and data.dimension.questionnaire_id != questionnaire.pk:
        raise ValidationError({"dimension": [_("请选择本问卷的维度。")]})
    options = _clean_options(data.kind, data.options)
    max_choices = data.max_choices if data.kind == Kind.MULTIPLE else 0
    if isinstance(max_choices, bool) or not isinstance(max_choices, int) or max_choices < 0:
        raise ValidationError({"max_choices": [_("请填写 0 或正整数（0 表示不限）。")]})
    if max_choices > len(options):
        raise ValidationError({"max_choices": [_("最多可选项数不能超过选项个数（%(n)s）。") % {"n": len(options)}]})
    scale = data.kind not in CHOICE_KINDS and data.kind != Kind.TEXT
    fields = {
        "kind": data.kind, "code": code, "dimension": data.dimension,
        "text": _text(data.text, field="text", max_length=TEXT_MAX),
        "help": _text(data.help, field="help", max_length=TEXT_MAX, required=False),
        "required": bool(data.required), "max_choices": max_choices,
        "low_label": _text(data.low_label, field="low_label", max_length=LABEL_MAX, required=False) if scale else "",
        "high_label": _text(data.high_label, field="high_label", max_length=LABEL_MAX, required=False) if scale else "",
    }
    return fields, options


def question_add(*, questionnaire: Questionnaire, data: QuestionInput, by: User | None) -> Question:
    with transaction.atomic():
        questionnaire = _lock(questionnaire)
        _require_editable(questionnaire)
        if questionnaire.questions.count() >= QUESTIONS_MAX:
            raise ValidationError(_("一份问卷最多 %(n)s 道题。") % {"n": QUESTIONS_MAX})
        fields, options = _question_fields(questionnaire, data)
        last = questionnaire.questions.aggregate(m=Max("order"))["m"]
        question = Question.objects.create(questionnaire=questionnaire, order=(last or 0) + 1, **fields)
        Option.objects.bulk_create([Option(question=question, label=label, order=i) for i, label in enumerate(options)])
        _audit(by, "question_add", questionnaire, question=question.pk, kind=question.kind, code=question.code)
    return question


def question_update(*, question: Question, data: QuestionInput, by: User | None) -> Question:
    """Change a question; for choice questions the options become ``data.options`` in
    that order (added, removed and reordered at once)."""
    with transaction.atomic():
        questionnaire = _lock(question.questionnaire)
        _require_editable(questionnaire)
        fields, options = _question_fields(questionnaire, data, exclude=question.pk)
        for name, value in fields.items():
            setattr(question, name, value)
        question.save()
        question.options.all().delete()
        Option.objects.bulk_create([Option(question=question, label=label, order=i) for i, label in enumerate(options)])
        _audit(by, "question_update", questionnaire, question=question.pk, kind=question.kind, code=question.code)
    return question


def question_move(*, question: Question, up: bool, by: User | None) -> Question:
    """Swap the question with its neighbour above (``up``) or below."""
    with transaction.atomic():
        questionnaire = _lock(question.questionnaire)
        _require_editable(questionnaire)
        ordered = list(questionnaire.questions.order_by("order", "id").values_list("pk", flat=True))
        position = ordered.index(question.pk)
        other = position - 1 if up else position + 1
        if 0 <= other < len(ordered):
            ordered[position], ordered[other] = ordered[other], ordered[position]
            # Renumber all, so orders stay distinct even after earlier duplicates.
            rows = list(Question.objects.filter(pk__in=ordered))
            by_pk = {row.pk: row for row in rows}
            for index, pk in enumerate(ordered, 1):
                by_pk[pk].order = index
            Question.objects.bulk_update(rows, ["order"])
            question.order = by_pk[question.pk].order
            _audit(by, "question_move", questionnaire, question=question.pk, up=up)
    return question


def question_delete(*, question: Question, by: User | None) -> None:
    with transaction.atomic():
        questionnaire = _lock(question.questionnaire)
        _require_editable(questionnaire)
        _audit(by, "question_delete", questionnaire, question=question.pk, code=question.code)
        try:
            with transaction.atomic():
                question.delete()
        except (ProtectedError, IntegrityError):
            raise ValidationError(_("该题已有答案，不能删除。")) from None
