"""Cleaning and checking of residents' field values, shared by services, forms and the importer.

Each cleaner takes what a person typed (or a spreadsheet cell) and returns the canonical
value, or raises ``ValueError`` with a message in the active language.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _

from linli.core.crypto import normalise
from linli.people.models import Gender, HouseholdRole, SpecialGroup

# GB 11643-1999: weights of the first 17 digits and the check character for sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Sensitive fields: sealed at rest, masked by default, revealed one at a time and logged.
SENSITIVE_FIELDS = ("id_number", "phone", "health", "disability", "income_status")
# Fields a resident may ask to have corrected (PIPL Art. 46).
CORRECTABLE_FIELDS = ("name", "gender", "birth_date", "id_number", "phone", "health", "disability", "income_status")
TEXT_MAX = 500


def id_number_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_birth_date(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def id_number_gender(id_number: str) -> str:
    return Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE


def clean_id_number(value: Any) -> str:
    """An 18-character resident ID number (GB 11643) with a valid date and check character."""
    text = normalise(_text(value))
    if not text:
        return ""
    # ``normalise`` has turned full-width digits into ASCII; anything else that
    # ``isdigit`` accepts (other scripts' digits, superscripts) is not an ID number.
    if (
        len(text) != 18 or not text.isascii() or not text[:17].isdigit()
        or not (text[17].isdigit() or text[17] == "X")
    ):
        raise ValueError(_("身份证号应为 18 位：17 位数字加 1 位数字或 X。"))
    try:
        born = id_number_birth_date(text)
    except ValueError:
        raise ValueError(_("身份证号中的出生日期无效。")) from None
    if born.year < 1880 or born > date.today():  # noqa: DTZ011 - a calendar date
        raise ValueError(_("身份证号中的出生日期无效。"))
    if id_number_check_char(text[:17]) != text[17]:
        raise ValueError(_("身份证号校验位不正确，请核对。"))
    return text


def clean_phone(value: Any) -> str:
    """A mainland mobile number: 11 digits starting 13–19 (an optional +86 is dropped)."""
    text = normalise(_text(value)).removeprefix("+86")
    if not text:
        return ""
    if not (len(text) == 11 and text.isascii() and text.isdigit() and text[0] == "1" and text[1] in "3456789"):
        raise ValueError(_("请输入 11 位手机号码。"))
    return text


def clean_name(value: Any) -> str:
    text = " ".join(_text(value).split())
    if not text:
        raise ValueError(_("姓名不能为空。"))
    if len(text) > 60:
        raise ValueError(_("姓名不能超过 60 个字。"))
    return text


_GENDERS = {
    "男": Gender.MALE, "m": Gender.MALE, "male": Gender.MALE,
    "女": Gender.FEMALE, "f": Gender.FEMALE, "female": Gender.FEMALE,
    "": Gender.UNSTATED, "未填": Gender.UNSTATED, "未知": Gender.UNSTATED,
}


def clean_gender(value: Any) -> str:
    text = _text(value).lower()
    if text not in _GENDERS:
        raise ValueError(_("性别应填“男”或“女”。"))
    return _GENDERS[text]


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def clean_birth_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        parsed = value
    else:
        text = _text(value)
        if not text:
            return None
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time
                break
            except ValueError:
                continue
        else:
            raise ValueError(_("出生日期格式应为 1980-01-31。"))
    if parsed.year < 1880 or parsed > date.today():  # noqa: DTZ011 - a calendar date
        raise ValueError(_("出生日期不合理。"))
    return parsed


_ROLES: dict[str, str] = {str(label): value for value, label in HouseholdRole.choices}
_ROLES.update({value: value for value in HouseholdRole.values})
_ROLES.update({
    "本人": HouseholdRole.HEAD, "户主本人": HouseholdRole.HEAD,
    "妻": HouseholdRole.SPOUSE, "夫": HouseholdRole.SPOUSE, "妻子": HouseholdRole.SPOUSE, "丈夫": HouseholdRole.SPOUSE,
    "子": HouseholdRole.CHILD, "女": HouseholdRole.CHILD, "儿子": HouseholdRole.CHILD, "女儿": HouseholdRole.CHILD,
    "父亲": HouseholdRole.PARENT, "母亲": HouseholdRole.PARENT, "孙子": HouseholdRole.GRANDCHILD,
    "孙女": HouseholdRole.GRANDCHILD, "外孙": HouseholdRole.GRANDCHILD, "外孙女": HouseholdRole.GRANDCHILD,
    "祖父": HouseholdRole.GRANDPARENT, "祖母": HouseholdRole.GRANDPARENT, "租客": HouseholdRole.TENANT,
    "": HouseholdRole.OTHER,
})


def clean_household_role(value: Any) -> str:
    text = _text(value)
    role = _ROLES.get(text) or _ROLES.get(text.lower())
    if role is None:
        raise ValueError(
            _("与户主关系无法识别：%(value)s（可填：%(choices)s）")
            % {"value": text, "choices": "、".join(str(label) for label in HouseholdRole.labels)}
        )
    return role


_GROUPS: dict[str, str] = {str(label): value for value, label in SpecialGroup.choices if value != SpecialGroup.OTHER}
_GROUPS.update({value: value for value in SpecialGroup.values if value != SpecialGroup.OTHER})
_GROUPS.update({"低保户": SpecialGroup.DIBAO, "特困人员": SpecialGroup.TEKUN, "残疾": SpecialGroup.DISABLED})


def clean_groups(value: Any) -> list[tuple[str, str]]:
    """``独居老人、低保`` → [(group, label)]; a community's own group is written ``其他:名称``."""
    text = _text(value).replace(";", "、").replace("；", "、").replace(",", "、").replace("，", "、")
    out: list[tuple[str, str]] = []
    for part in (p.strip() for p in text.split("、")):
        if not part:
            continue
        for prefix in ("其他:", "其他：", "other:"):
            if part.lower().startswith(prefix):
                label = part[len(prefix):].strip()[:60]
                if not label:
                    raise ValueError(_("“其他”群体请写明名称，如“其他:重点关注”。"))
                item = (str(SpecialGroup.OTHER), label)
                break
        else:
            group = _GROUPS.get(part) or _GROUPS.get(part.lower())
            if group is None:
                raise ValueError(
                    _("特殊群体无法识别：%(value)s（可填：%(choices)s，或“其他:名称”）")
                    % {"value": part, "choices": "、".join(str(label) for value, label in SpecialGroup.choices if value != SpecialGroup.OTHER)}
                )
            item = (group, "")
        if item not in out:
            out.append(item)
    return out


def clean_sensitive_text(value: Any) -> str:
    text = _text(value)
    if len(text) > TEXT_MAX:
        raise ValueError(_("内容不能超过 %(n)d 个字。") % {"n": TEXT_MAX})
    return text


CLEANERS = {
    "name": clean_name,
    "gender": clean_gender,
    "birth_date": clean_birth_date,
    "household_role": clean_household_role,
    "id_number": clean_id_number,
    "phone": clean_phone,
    "health": clean_sensitive_text,
    "disability": clean_sensitive_text,
    "income_status": clean_sensitive_text,
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
