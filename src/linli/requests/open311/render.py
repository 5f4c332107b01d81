"""Answers in the two formats of GeoReport v2: JSON (Spark convention: a list where the
XML has a wrapper of repeated elements) and XML (no namespace, UTF-8 declaration).

Both are built by hand from plain dicts and lists: no serializer classes and no ORM
objects, since the list endpoints render hundreds of rows per call.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")

# The element each item of a list is wrapped in, by the list's own element name.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "history": "event",
}

# Characters XML 1.0 cannot carry at all (not even escaped): they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'


def w3c(value: datetime | None) -> str | None:
    """A time in the W3C profile of ISO 8601, in linli's time zone, with its offset."""
    if value is None:
        return None
    # replace() then isoformat() is the quickest way to whole seconds (lists format hundreds).
    return value.astimezone(timezone.get_default_timezone()).replace(microsecond=0).isoformat()


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    text = value if isinstance(value, str) else str(value)
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write(out: list[str], name: str, value: Any) -> None:
    if isinstance(value, dict):
        out.append(f"<{name}>")
        for key, item in value.items():
            _write(out, key, item)
        out.append(f"</{name}>")
    elif isinstance(value, list):
        item_name = ITEM_NAMES[name]
        out.append(f"<{name}>")
        for item in value:
            _write(out, item_name, item)
        out.append(f"</{name}>")
    elif value is None or value == "":
        out.append(f"<{name}/>")
    else:
        out.append(f"<{name}>{_text(value)}</{name}>")


def xml_document(root: str, value: Any) -> str:
    out = [_XML_DECLARATION]
    _write(out, root, value)
    return "".join(out)


def json_document(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def respond(fmt: str, root: str, value: Any, *, status: int = 200, private: bool = False) -> HttpResponse:
    """``value`` is what the JSON holds; ``root`` names the XML element around it."""
    if fmt == "json":
        response = HttpResponse(json_document(value), content_type=JSON_TYPE, status=status)
    else:
        response = HttpResponse(xml_document(root, value), content_type=XML_TYPE, status=status)
    # Keyed answers carry personal information: no shared cache may keep them.
    response["Cache-Control"] = "private, no-store" if private else "no-cache"
    return response


def errors(fmt: str, status: int, items: list[tuple[int, str]]) -> HttpResponse:
    """The GeoReport error shape: ``errors/error{code, description}``."""
    return respond(fmt, "errors", [{"code": code, "description": description} for code, description in items],
                   status=status)
