from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.people.models import SENSITIVE_GROUPS, ResidentStatus, SpecialGroup
from linli.people.services import REASON_MAX
from linli.people.validation import CORRECTABLE_FIELDS
from linli.places.models import Place


class ResidentSearchForm(forms.Form):
    q = forms.CharField(
        label=_("姓名、手机号或身份证号"), required=False, max_length=60,
        help_text=_("手机号和身份证号须完整输入，按精确匹配查找。"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    place = forms.TypedChoiceField(label=_("网格/楼栋"), required=False, coerce=int, empty_value=None)
    group = forms.ChoiceField(label=_("特殊群体"), required=False)
    status = forms.ChoiceField(label=_("状态"), required=False)

    def __init__(self, *args: Any, places: list[Place], sensitive_groups: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sensitive_groups = sensitive_groups
        self.fields["place"].choices = [("", _("全部"))] + [  # type: ignore[attr-defined]
            (p.pk, ("\u3000" * max(0, p.depth - 3)) + p.name) for p in places
        ]
        self.fields["group"].choices = [("", _("全部")), *SpecialGroup.choices]  # type: ignore[attr-defined]
        if not sensitive_groups:
            # Offered only to those who may reveal; a hand-made URL gets a clear error (clean_group).
            self.fields["group"].widget.choices = [
                (value, label) for value, label in [("", _("全部")), *SpecialGroup.choices]
                if value not in SENSITIVE_GROUPS
            ]
        self.fields["status"].choices = [("", _("全部")), *ResidentStatus.choices]  # type: ignore[attr-defined]

    def clean_group(self) -> str:
        group: str = self.cleaned_data.get("group") or ""
        if group in SENSITIVE_GROUPS and not self.sensitive_groups:
            raise forms.ValidationError(_("按该特殊群体筛选需要查看权限。"))
        return group


class RevealForm(forms.Form):
    reason = forms.CharField(label=_("查看事由"), max_length=REASON_MAX)


class CorrectionForm(forms.Form):
    field = forms.ChoiceField(label=_("需要更正的项目"))
    requested_value = forms.CharField(
        label=_("应改为"), required=False, max_length=500, help_text=_("留空表示删除该项。出生日期请写成 1980-01-31。"),
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from linli.people.selectors import field_label

        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(f, field_label(f)) for f in CORRECTABLE_FIELDS]  # type: ignore[attr-defined]


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("处理结果"), choices=[("accept", _("同意更正")), ("reject", _("不予更正"))], widget=forms.RadioSelect,
    )
    answer = forms.CharField(label=_("答复"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class ImportForm(forms.Form):
    community = forms.TypedChoiceField(label=_("导入到社区"), coerce=int)
    file = forms.FileField(
        label=_("文件（.xlsx 或 .csv）"),
        help_text=_("列：户编号、楼栋、单元、房号、姓名、性别、出生日期、与户主关系、身份证号、手机号、特殊群体（多个用“、”或“;”分隔）。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def __init__(self, *args: Any, communities: list[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [(c.pk, c.address or c.name) for c in communities]  # type: ignore[attr-defined]
