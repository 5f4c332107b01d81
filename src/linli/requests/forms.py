"""Forms of the requests pages: reporting a problem (with the category's extra questions
as fields), staff entry, the workbench filters, and one small form per action."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from linli.places.models import Place
from linli.requests.models import (
    NOT_DISPATCHED_REASONS,
    STAFF_ENTRY_CHANNELS,
    Category,
    Channel,
    CloseReason,
    Priority,
    Rating,
    VisitChannel,
)
from linli.requests.photos import FORMATS
from linli.requests.selectors import QueueFilters, queue_status_choices
from linli.requests.services import TEXT_MAX, TITLE_MAX

# The form field of a category's extra question ``code`` (the service calls it ``attribute[code]``).
ATTR_PREFIX = "attr_"
BULK_MAX = 100


def attr_field_name(service_key: str) -> str:
    """``attribute[floor]`` (a service error key) → ``attr_floor`` (the form field)."""
    if service_key.startswith("attribute[") and service_key.endswith("]"):
        return ATTR_PREFIX + service_key[len("attribute["):-1]
    return service_key


# Photos ---------------------------------------------------------------------------------

class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


def photo_check(upload: UploadedFile) -> None:
    """Cheap checks before the service re-encodes the photo: size, and that the file
    starts like a photo of an accepted format (the header only; nothing is decoded)."""
    name = upload.name or "photo"
    if upload.size is not None and upload.size > settings.REQUEST_PHOTO_MAX_BYTES:
        raise forms.ValidationError(
            _("照片“%(name)s”太大：每张不超过 %(mb)s MB。"),
            params={"name": name, "mb": settings.REQUEST_PHOTO_MAX_BYTES // (1024 * 1024) or 1},
        )
    image_format = ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(upload) as image:
                image_format = image.format or ""
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        image_format = ""
    finally:
        upload.seek(0)
    if image_format not in FORMATS:
        raise forms.ValidationError(_("“%(name)s”不是支持的照片格式（JPEG、PNG、WebP）。"), params={"name": name})


def _photos_help() -> str:
    return gettext("最多 %(n)s 张，JPEG、PNG 或 WebP，每张不超过 %(mb)s MB。") % {
        "n": settings.REQUEST_PHOTOS_MAX, "mb": settings.REQUEST_PHOTO_MAX_BYTES // (1024 * 1024) or 1}


# Evaluated when shown, in the language of the page (the fields are built at import).
photos_help = lazy(_photos_help, str)


class PhotosField(forms.FileField):
    """Several photos in one field (``<input type="file" multiple>``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        kwargs.setdefault("help_text", photos_help())
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        items = data if isinstance(data, list | tuple) else [data]
        files = [single(item, initial) for item in items if item]
        if len(files) > settings.REQUEST_PHOTOS_MAX:
            raise forms.ValidationError(_("最多上传 %(n)s 张照片。"), params={"n": settings.REQUEST_PHOTOS_MAX})
        errors = []
        for upload in files:
            try:
                photo_check(upload)
            except forms.ValidationError as exc:
                errors.extend(exc.error_list)
        if errors:
            raise forms.ValidationError(errors)
        return files


# A category's extra questions -------------------------------------------------------------

def attribute_fields(category: Category) -> dict[str, forms.Field]:
    """Form fields for the category's Open311 attributes, in their order."""
    fields: dict[str, forms.Field] = {}
    for attr in sorted(category.attributes or [], key=lambda a: a.get("order", 0)):
        code = str(attr.get("code") or "")
        if not code or attr.get("variable", True) is False:
            continue
        common: dict[str, Any] = {
            "label": str(attr.get("description") or code),
            "required": bool(attr.get("required")),
            "help_text": str(attr.get("datatype_description") or ""),
        }
        values = [(str(v.get("key")), str(v.get("name"))) for v in attr.get("values", [])]
        datatype = attr.get("datatype", "string")
        field: forms.Field
        if datatype == "singlevaluelist":
            field = forms.ChoiceField(choices=values, widget=forms.RadioSelect, **common)
        elif datatype == "multivaluelist":
            field = forms.MultipleChoiceField(choices=values, widget=forms.CheckboxSelectMultiple, **common)
        elif datatype == "number":
            field = forms.DecimalField(max_value=10**12, min_value=-(10**12), max_digits=24, decimal_places=6,
                                       widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
                                       **common)
        elif datatype == "datetime":
            field = forms.DateTimeField(
                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
                **common,
            )
        elif datatype == "text":
            field = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3}), **common)
        else:
            field = forms.CharField(max_length=1000, **common)
        fields[ATTR_PREFIX + code] = field
    return fields


def category_choices(categories: Sequence[Category]) -> list[Any]:
    """Categories grouped by their group, for a select with optgroups."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for category in categories:
        groups.setdefault(category.group or str(_("其他")), []).append((category.pk, category.name))
    return [("", _("请选择问题类别")), *[(group, items) for group, items in groups.items()]]


def place_label(place: Place) -> str:
    return place.address or place.name


class IntakeForm(forms.Form):
    """What every channel asks: category (and its questions), title, description, where, photos."""

    category = forms.TypedChoiceField(label=_("问题类别"), coerce=int, empty_value=None)
    title = forms.CharField(label=_("标题"), max_length=TITLE_MAX,
                            help_text=_("一句话说明问题，如“3号楼2单元楼道灯不亮”。"))
    description = forms.CharField(label=_("详细描述"), max_length=TEXT_MAX,
                                  widget=forms.Textarea(attrs={"rows": 5}),
                                  help_text=_("发生了什么、从什么时候开始、影响了谁。"))
    address = forms.CharField(label=_("具体位置"), max_length=200, required=False,
                              help_text=_("如：5 层楼梯间、小区东门。"))
    photos = PhotosField(label=_("照片"))
    anonymous = forms.BooleanField(label=_("匿名反映（工作人员看不到您的姓名和联系方式，也无法回访您）"),
                                   required=False)

    def __init__(self, *args: Any, categories: Sequence[Category], category: Category | None = None,
                 questions_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chosen_category = category
        self.fields["category"].choices = category_choices(categories)  # type: ignore[attr-defined]
        if questions_url:
            # With JavaScript, the questions follow the category at once; without it, the
            # page's "show the questions" button posts the form back.
            self.fields["category"].widget.attrs.update({
                "hx-get": questions_url, "hx-trigger": "change", "hx-target": "#questions", "hx-swap": "innerHTML",
                "hx-include": "[name='place']",
            })
        self.attribute_names: list[str] = []
        if category is not None:
            for name, field in attribute_fields(category).items():
                self.fields[name] = field
                self.attribute_names.append(name)
        if category is None or not category.allow_anonymous:
            del self.fields["anonymous"]

    @classmethod
    def initial_from(cls, data: Any, category: Category | None) -> dict[str, Any]:
        """What was typed, as initial values: re-showing the form after a change of
        category, without judging it yet."""
        multi = {name for name, field in attribute_fields(category).items()
                 if isinstance(field, forms.MultipleChoiceField)} if category else set()
        return {key: (data.getlist(key) if key in multi else data.get(key)) for key in data}

    def clean_category(self) -> int | None:
        value: int | None = self.cleaned_data.get("category")
        if self.chosen_category is None or value != self.chosen_category.pk:
            raise forms.ValidationError(_("请选择问题类别。"))
        return value

    def attributes(self) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for name in self.attribute_names:
            value = self.cleaned_data.get(name)
            if value in (None, "", []):
                continue
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            elif not isinstance(value, list):
                value = str(value)
            answers[name[len(ATTR_PREFIX):]] = value
        return answers

    def attribute_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.attribute_names]


class ReportForm(IntakeForm):
    """A resident reporting a problem at their home (or one of their homes)."""

    place = forms.TypedChoiceField(label=_("反映哪一处住址的问题"), coerce=int, empty_value=None, required=False)
    # Ids of the similar open requests this resident was shown, so the form is only
    # held back once for them.
    similar_seen = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, places: Sequence[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places = list(places)
        self.fields["place"].choices = [(p.pk, place_label(p)) for p in self.places]  # type: ignore[attr-defined]
        if len(self.places) == 1:
            self.fields["place"].widget = forms.HiddenInput()
            self.fields["place"].initial = self.places[0].pk

    def clean_place(self) -> int | None:
        value: int | None = self.cleaned_data.get("place")
        if value is None and len(self.places) > 1:
            raise forms.ValidationError(_("请选择住址。"))
        return value

    def chosen_place(self) -> Place:
        pk = self.cleaned_data.get("place")
        return next((p for p in self.places if p.pk == pk), self.places[0])

    def seen_ids(self) -> set[int]:
        raw = (self.cleaned_data.get("similar_seen") if hasattr(self, "cleaned_data") else "") or ""
        return {int(part) for part in raw.split(",") if part.strip().isdigit() and len(part.strip()) < 12}


class StaffEntryForm(IntakeForm):
    """Staff entering a request on a resident's behalf, recording the channel."""

    channel = forms.ChoiceField(label=_("来源渠道"), choices=[(c.value, c.label) for c in STAFF_ENTRY_CHANNELS],
                                widget=forms.RadioSelect)
    place = forms.TypedChoiceField(label=_("地点"), coerce=int, empty_value=None, required=False,
                                   help_text=_("社区、网格或楼栋；具体到户时请填下方的地点编码。"))
    place_code = forms.CharField(label=_("地点编码（可选）"), max_length=64, required=False,
                                 help_text=_("户或单元的编码，填写后以它为准。"))
    contact_name = forms.CharField(label=_("诉求人姓名"), max_length=60, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=30, required=False,
                                    widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    priority = forms.ChoiceField(label=_("紧急程度"), required=False,
                                 choices=[("", _("按类别默认")), *Priority.choices])

    def __init__(self, *args: Any, places: Sequence[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = [("", _("请选择"))] + [  # type: ignore[attr-defined]
            (p.pk, ("\u3000" * max(0, p.depth - 2)) + p.name) for p in places
        ]
        if "anonymous" in self.fields:
            self.fields["anonymous"].label = _("匿名（不记录诉求人信息）")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("place") and not (data.get("place_code") or "").strip():
            self.add_error("place", _("请选择地点，或填写地点编码。"))
        if not data.get("anonymous") and not (data.get("contact_name") or data.get("contact_phone")):
            self.add_error("contact_name", _("请填写诉求人姓名或联系电话（匿名除外）。"))
        return data


# The workbench ----------------------------------------------------------------------------

class QueueFilterForm(forms.Form):
    q = forms.CharField(label=_("编号或标题"), required=False, max_length=60,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    status = forms.ChoiceField(label=_("状态"), required=False)
    category = forms.TypedChoiceField(label=_("类别"), coerce=int, empty_value=None, required=False)
    channel = forms.ChoiceField(label=_("渠道"), required=False, choices=[("", _("全部")), *Channel.choices])
    grid = forms.TypedChoiceField(label=_("网格"), coerce=int, empty_value=None, required=False)
    overdue = forms.BooleanField(label=_("已超时"), required=False)
    due_soon = forms.BooleanField(label=_("24 小时内到期"), required=False)
    mine = forms.BooleanField(label=_("我承办的"), required=False)

    def __init__(self, *args: Any, categories: Sequence[Category], grids: Sequence[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = queue_status_choices()  # type: ignore[attr-defined]
        self.fields["category"].choices = [("", _("全部"))] + [  # type: ignore[attr-defined]
            (c.pk, c.name) for c in categories]
        self.fields["grid"].choices = [("", _("全部"))] + [(g.pk, g.name) for g in grids]  # type: ignore[attr-defined]

    def filters(self) -> QueueFilters:
        if not self.is_bound:
            return QueueFilters()
        data = self.cleaned_data
        return QueueFilters(
            status=data.get("status") or "open", category=data.get("category"), channel=data.get("channel") or "",
            grid=data.get("grid"), overdue=bool(data.get("overdue")), due_soon=bool(data.get("due_soon")),
            mine=bool(data.get("mine")), q=data.get("q") or "",
        )


class IdListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def clean(self, value: Any) -> list[int]:
        items = value if isinstance(value, list | tuple) else ([value] if value else [])
        ids = []
        for item in items:
            text = str(item).strip()
            if not text.isdigit() or len(text) > 12:
                raise forms.ValidationError(_("所选诉求有误，请刷新后重试。"))
            ids.append(int(text))
        if not ids:
            raise forms.ValidationError(_("请至少勾选一件诉求。"))
        if len(ids) > BULK_MAX:
            raise forms.ValidationError(_("一次最多分派 %(n)s 件。"), params={"n": BULK_MAX})
        return list(dict.fromkeys(ids))


class BulkAssignForm(forms.Form):
    ids = IdListField(label=_("所选诉求"))
    handler = forms.TypedChoiceField(label=_("分派给"), coerce=int, empty_value=None)

    def __init__(self, *args: Any, handlers: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from linli.requests.selectors import user_label

        self.fields["handler"].choices = [("", _("请选择承办人"))] + [  # type: ignore[attr-defined]
            (u.pk, user_label(u)) for u in handlers]


# Actions on one request -------------------------------------------------------------------

class VersionForm(forms.Form):
    """Every action carries the version the page showed, so a stale page is refused."""

    expected_version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


def _text(label: Any, *, required: bool = True, rows: int = 3, max_length: int = TEXT_MAX) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=max_length,
                           widget=forms.Textarea(attrs={"rows": rows}))


class ChoicesForm(VersionForm):
    """A form whose one choice field gets its choices from the page (people, partners …)."""

    choice_field = ""

    def __init__(self, *args: Any, choices: Sequence[tuple[Any, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.choice_field:
            self.fields[self.choice_field].choices = [("", _("请选择"))] + list(choices)  # type: ignore[attr-defined]


class AcceptForm(VersionForm):
    priority = forms.ChoiceField(label=_("紧急程度"), choices=Priority.choices)


class AssignForm(ChoicesForm):
    choice_field = "handler"
    handler = forms.TypedChoiceField(label=_("承办人"), coerce=int, empty_value=None)
    reason = forms.CharField(label=_("说明（可选）"), required=False, max_length=500)


class DispatchForm(ChoicesForm):
    choice_field = "organisation"
    organisation = forms.TypedChoiceField(label=_("合作单位"), coerce=int, empty_value=None)
    reason = forms.CharField(label=_("说明（可选，居民可见）"), required=False, max_length=500)


class PlainForm(VersionForm):
    """An action without fields (start, resume, withdraw)."""


class ReplyForm(VersionForm):
    body = _text(_("答复内容（居民可见）"), rows=4)
    photos = PhotosField(label=_("照片（可选）"))


class NoteForm(VersionForm):
    body = _text(_("内部备注（居民看不到）"))


class ContactForm(VersionForm):
    method = forms.ChoiceField(label=_("联系方式"), choices=VisitChannel.choices)
    body = _text(_("联系情况（可选）"), required=False, rows=2)


class WaitForm(VersionForm):
    question = _text(_("需要居民补充什么"))


class PriorityForm(VersionForm):
    priority = forms.ChoiceField(label=_("新的紧急程度"), choices=Priority.choices)
    reason = forms.CharField(label=_("调整原因"), max_length=500)


class ResolveForm(VersionForm):
    resolution = _text(_("办理结果（居民可见）"), rows=4)
    photos = PhotosField(label=_("办结照片（可选）"))


class CloseForm(VersionForm):
    reason = forms.ChoiceField(
        label=_("不予派单的原因"),
        choices=[(r.value, r.label) for r in NOT_DISPATCHED_REASONS if r != CloseReason.DUPLICATE],
        widget=forms.RadioSelect,
    )
    answer = _text(_("给居民的答复"))


class MergeForm(ChoicesForm):
    choice_field = "into"
    into = forms.TypedChoiceField(label=_("合并到"), coerce=int, empty_value=None)


class TransferForm(ChoicesForm):
    choice_field = "to"
    to = forms.TypedChoiceField(label=_("转交社区"), coerce=int, empty_value=None)
    reason = _text(_("转办原因"), rows=2)


class ReasonForm(VersionForm):
    reason = _text(_("原因"), rows=2)


SOLVED_CHOICES = [("yes", _("是，问题已解决")), ("no", _("否，问题没有解决"))]


class RateForm(VersionForm):
    rating = forms.TypedChoiceField(label=_("您对办理结果满意吗？"), coerce=int, choices=Rating.choices,
                                    widget=forms.RadioSelect)
    solved = forms.TypedChoiceField(label=_("问题解决了吗？"), coerce=lambda v: v == "yes", choices=SOLVED_CHOICES,
                                    widget=forms.RadioSelect)
    comment = _text(_("意见（可选）"), required=False, rows=2, max_length=1000)


class VisitForm(RateForm):
    """A return visit staff record on the resident's behalf."""

    channel = forms.ChoiceField(label=_("回访方式"), widget=forms.RadioSelect, choices=[
        (c.value, c.label) for c in (VisitChannel.PHONE, VisitChannel.SMS, VisitChannel.IN_PERSON)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rating"].label = _("居民的满意程度")
        self.fields["solved"].label = _("居民认为问题解决了吗？")
        self.fields["comment"].label = _("居民的意见（可选）")
        self.order_fields(["channel", "rating", "solved", "comment"])


class CommentForm(VersionForm):
    body = _text(_("补充说明"))
    photos = PhotosField(label=_("照片（可选）"))


class TemplateChoiceForm(forms.Form):
    template = forms.TypedChoiceField(label=_("答复模板"), coerce=int, empty_value=None, required=False)

