"""GET Service List and GET Service Definition: request categories as Open311 services,
their extra questions as attributes."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from linli.requests.models import Category
from linli.requests.open311.params import Open311Error

_SERVICE_FIELDS = ("code", "name", "name_en", "description", "keywords", "group", "attributes")


def service_name(name: str, name_en: str) -> str:
    if name_en and (get_language() or "").startswith("en"):
        return name_en
    return name


def attributes(raw: Any) -> list[dict[str, Any]]:
    """The category's questions as GeoReport attributes, tolerant of hand-edited JSON."""
    out = []
    for index, attr in enumerate(raw if isinstance(raw, list) else [], start=1):
        if not isinstance(attr, dict) or not attr.get("code"):
            continue
        try:
            order = int(attr.get("order") or index)
        except (TypeError, ValueError):
            order = index
        raw_values = attr.get("values")
        values: list[Any] = raw_values if isinstance(raw_values, list) else []
        out.append({
            "variable": attr.get("variable", True) is not False,
            "code": str(attr["code"]),
            "datatype": str(attr.get("datatype") or "string"),
            "required": bool(attr.get("required", False)),
            "datatype_description": str(attr.get("datatype_description") or "") or None,
            "order": order,
            "description": str(attr.get("description") or ""),
            "values": [{"key": str(v.get("key", "")), "name": str(v.get("name", ""))}
                       for v in values if isinstance(v, dict)],
        })
    return sorted(out, key=lambda attr: attr["order"])


def services() -> list[dict[str, Any]]:
    rows = Category.objects.filter(is_active=True).order_by("order", "code").values(*_SERVICE_FIELDS)
    return [{
        "service_code": row["code"],
        "service_name": service_name(row["name"], row["name_en"]),
        "description": row["description"] or None,
        "metadata": bool(attributes(row["attributes"])),
        "type": "realtime",
        "keywords": row["keywords"] or None,
        "group": row["group"] or None,
    } for row in rows]


def service_definition(code: str) -> dict[str, Any]:
    row = Category.objects.filter(code=code, is_active=True).values(*_SERVICE_FIELDS).first()
    if row is None:
        raise Open311Error(404, _("找不到 service_code：%(code)s。") % {"code": code[:60]})
    return {"service_code": row["code"], "attributes": attributes(row["attributes"])}


def category_ids(codes: list[str]) -> list[int] | None:
    """The ids of the named service codes (inactive ones too: old requests keep them);
    an unknown code is a 400."""
    if not codes:
        return None
    found = dict(Category.objects.filter(code__in=codes).values_list("code", "id"))
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise Open311Error(400, _("未知的 service_code：%(codes)s。") % {"codes": ", ".join(c[:60] for c in unknown[:5])})
    return list(found.values())
