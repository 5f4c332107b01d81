"""Matrix rows of Open311 GeoReport v2 (``linli.requests.open311``) at /open311/v2/.

Open311 clients authenticate each call with an ``api_key``, never with a session: a
signed-in persona is just another keyless caller. So every read answers every persona
(the keyless view withholds personal information; keyed scope is tested in
tests/requests/open311/). POST Service Request shares its address with GET Service
Requests (one row per URL name): that every signed-in persona is refused it without a
key is tested in tests/requests/open311/test_post.py.
The photo address is a signed, expiring capability: holding it is the access check.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from linli.requests.open311.callers import media_token, request_token
from linli.requests.services import request_reply
from tests.matrix_base import Rule, World, everyone


def _fmt(**extra: Callable[[World], Any]) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"fmt": "json", **{name: make(w) for name, make in extra.items()}}


def _photo_token(world: World) -> dict[str, Any]:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    event = request_reply(request=world.request_inside, by=world.personas.staff, body="现场照片",
                          photos=[SimpleUploadedFile("p.png", out.getvalue(), content_type="image/png")])
    return {"token": media_token(event.attachments.get().pk)}


RULES: dict[str, Rule] = {
    "open311:discovery": Rule(kwargs=_fmt(), expect=everyone()),
    "open311:services": Rule(kwargs=_fmt(), expect=everyone()),
    "open311:service_definition": Rule(kwargs=_fmt(service_code=lambda w: "repairs"), expect=everyone()),
    "open311:service_definition_singular": Rule(kwargs=_fmt(service_code=lambda w: "repairs"), expect=everyone()),
    "open311:requests": Rule(kwargs=_fmt(), expect=everyone()),
    "open311:request_detail": Rule(kwargs=_fmt(service_request_id=lambda w: str(w.request_inside.pk)),
                                   expect=everyone()),
    "open311:token": Rule(kwargs=_fmt(token=lambda w: request_token(w.request_inside.pk)), expect=everyone()),
    "open311:updates": Rule(kwargs=_fmt(), expect=everyone()),
    "open311:media": Rule(kwargs=_photo_token, expect=everyone()),
    # Anything else under /open311/ is a 404 in the GeoReport error shape.
    "open311:fallback": Rule(kwargs=lambda w: {"rest": "v2/nothing.json"}, expect=everyone("404")),
}
