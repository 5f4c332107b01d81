from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from linli.places.models import Place


class PlaceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Place) -> str:
        return f"{obj.get_kind_display()} · {obj.address or obj.name}（{obj.code}）"


class ImportForm(forms.Form):
    under = PlaceChoiceField(
        label=_("导入到"), queryset=Place.objects.none(), empty_label=None,
        help_text=_("文件中没有上级编码的行，都放在这个地点之下。"),
    )
    file = forms.FileField(
        label=_("文件（.xlsx 或 .csv）"),
        help_text=_("列：编码、上级编码、类型（区/街道/社区/网格/楼栋/单元/户）、名称，可选：规划户数。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )
    dry_run = forms.BooleanField(label=_("只检查，不写入"), required=False)

    def __init__(self, *args: Any, targets: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["under"].queryset = targets  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("文件过大（上限 %(mb)d MB）。"), params={"mb": max(1, settings.UPLOAD_MAX_BYTES // (1024 * 1024))}
            )
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("只能导入 .xlsx 或 .csv 文件。"))
        return upload
