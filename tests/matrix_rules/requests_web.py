"""Matrix rows of the requests app's HTML pages and JSON API (``linli.requests``).

``World.request_inside`` is reported by ``resident`` in their household, accepted and
dispatched to the partner's organisation; ``request_far`` lies in the other community.
Each POST carries a valid body (without ``expected_version``, which the matrix cannot
know), so a refusal can only come from access control; a 400/422 for a step the
request's state does not allow still means access control let it through.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from linli.requests.models import Request
from linli.requests.services import request_reply
from tests.matrix_base import SIGNED_IN, Rule, World, only

# Staff who see requests in their scope (auditors read); partners see what is dispatched to them.
REQUEST_READERS = frozenset({"grid_worker", "staff", "lead", "street_supervisor", "auditor", "superuser"})
# Staff who work on requests (the auditor only reads).
REQUEST_WORKERS = frozenset({"grid_worker", "staff", "lead", "street_supervisor", "superuser"})
# Staff who assign, dispatch, close and merge.
REQUEST_MANAGERS = frozenset({"staff", "lead", "street_supervisor", "superuser"})
RESIDENTS = frozenset({"resident", "other_resident"})


def _request(attr: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"pk": getattr(w, attr).pk}


def _act(attr: str, action: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"pk": getattr(w, attr).pk, "action": action}


def _photo_on(request: Request, world: World) -> dict[str, Any]:
    """A public photo with a reply on ``request``: its reporter may see it too."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    by = world.personas.staff if request.pk == world.request_inside.pk else world.personas.outside_staff
    event = request_reply(request=request, by=by, body="现场照片",
                          photos=[SimpleUploadedFile("p.png", out.getvalue(), content_type="image/png")])
    attachment = event.attachments.get()
    return {"pk": attachment.pk}


RULES: dict[str, Rule] = {
    # Residents.
    "requests:new": Rule(expect=only(RESIDENTS), default="403"),
    "requests:mine": Rule(expect=only(SIGNED_IN)),
    "requests:mine_detail": Rule(kwargs=_request("request_inside"), expect=only({"resident"})),
    "requests:mine_action": Rule(method="post", kwargs=_act("request_inside", "comment"),
                                 data={"comment-body": "5 层的灯也不亮了"}, expect=only({"resident"})),
    # Only an open request of the same category at the resident's building can be followed.
    "requests:follow": Rule(method="post", kwargs=_request("request_inside"), expect=only(RESIDENTS)),
    # Staff: the workbench.
    "requests:queue": Rule(expect=only(REQUEST_READERS | {"partner", "outside_staff"}), default="403"),
    "requests:bulk_assign": Rule(method="post", data={"ids": "1", "handler": ""},
                                 expect=only(REQUEST_MANAGERS | {"outside_staff"}), default="403"),
    "requests:staff_entry": Rule(expect=only(REQUEST_WORKERS | {"outside_staff"}), default="403"),
    "requests:detail": Rule(kwargs=_request("request_inside"), expect=only(REQUEST_READERS | {"partner"})),
    "requests:action": Rule(method="post", kwargs=_act("request_inside", "note"), data={"note-body": "已电话联系物业"},
                            expect=only(REQUEST_WORKERS | {"partner"}, auditor="403")),
    "requests:attachment": Rule(kwargs=lambda w: _photo_on(w.request_inside, w),
                                expect=only(REQUEST_READERS | {"partner", "resident"})),
}
OUTSIDE: dict[str, Callable[[World], dict[str, Any]]] = {
    "requests:detail": _request("request_far"),
    "requests:mine_detail": _request("request_far"),
    "requests:mine_action": _act("request_far", "comment"),
    "requests:follow": _request("request_far"),
    "requests:action": _act("request_far", "note"),
    "requests:attachment": lambda w: _photo_on(w.request_far, w),
}

BASE = "/api/v1/requests"


def _id(attr: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"request_id": getattr(w, attr).pk}


def _inside(**overrides: str) -> dict[str, str]:
    """Answers on ``request_inside`` for a step of ``level`` (see ``linli.requests.selectors``)."""
    return only(REQUEST_WORKERS | {"partner"}, anonymous="401", auditor="403", **overrides)


STAFF_ONLY = {"partner": "403"}
MANAGE_ONLY = {"partner": "403", "grid_worker": "403"}

API_RULES: dict[tuple[str, str], Rule] = {
    ("get", f"{BASE}/"): Rule(expect=only(REQUEST_READERS | {"partner", "outside_staff"}, anonymous="401"),
                              default="403"),
    # Residents report at home; staff name a place (none here: a 422 once past access control).
    ("post", f"{BASE}/"): Rule(method="post", data={"category": "repairs", "title": "路灯不亮", "description": "东门路灯不亮",
                                                    "attributes": {"facility": "light"}},
                               expect=only(RESIDENTS | REQUEST_WORKERS | {"outside_staff"}, anonymous="401"),
                               default="403"),
    ("get", f"{BASE}/categories"): Rule(expect=only(SIGNED_IN, anonymous="401")),
    ("get", f"{BASE}/mine"): Rule(expect=only(SIGNED_IN, anonymous="401")),
    ("get", f"{BASE}/mine/{{request_id}}"): Rule(kwargs=_id("request_inside"), expect=only({"resident"}, anonymous="401")),
    ("get", f"{BASE}/{{request_id}}"): Rule(kwargs=_id("request_inside"),
                                             expect=only(REQUEST_READERS | {"partner"}, anonymous="401")),
    ("post", f"{BASE}/{{request_id}}/accept"): Rule(method="post", kwargs=_id("request_inside"),
                                                    data={"priority": "normal"}, expect=_inside(**STAFF_ONLY)),
    ("post", f"{BASE}/{{request_id}}/assign"): Rule(method="post", kwargs=_id("request_inside"),
                                                    data={"handler_id": 0}, expect=_inside(**MANAGE_ONLY)),
    ("post", f"{BASE}/{{request_id}}/dispatch"): Rule(method="post", kwargs=_id("request_inside"),
                                                      data={"organisation_id": 0}, expect=_inside(**MANAGE_ONLY)),
    ("post", f"{BASE}/{{request_id}}/start"): Rule(method="post", kwargs=_id("request_inside"), data={},
                                                   expect=_inside()),
    ("post", f"{BASE}/{{request_id}}/reply"): Rule(method="post", kwargs=_id("request_inside"),
                                                   data={"body": "已联系物业，明天上午维修。"}, expect=_inside()),
    ("post", f"{BASE}/{{request_id}}/note"): Rule(method="post", kwargs=_id("request_inside"),
                                                  data={"body": "物业电话 010-…"}, expect=_inside()),
    ("post", f"{BASE}/{{request_id}}/resolve"): Rule(method="post", kwargs=_id("request_inside"),
                                                     data={"resolution": "已更换灯泡。"}, expect=_inside()),
    ("post", f"{BASE}/{{request_id}}/close"): Rule(method="post", kwargs=_id("request_inside"),
                                                   data={"reason": "outside_duty", "answer": "建议联系供电公司。"},
                                                   expect=_inside(**MANAGE_ONLY)),
    # Its reporter rates it; staff record a return visit (by phone here).
    ("post", f"{BASE}/{{request_id}}/rate"): Rule(method="post", kwargs=_id("request_inside"),
                                                  data={"rating": 5, "solved": True, "channel": "phone"},
                                                  expect=_inside(resident="ok", **STAFF_ONLY)),
    ("post", f"{BASE}/{{request_id}}/reopen"): Rule(method="post", kwargs=_id("request_inside"),
                                                    data={"reason": "灯还是不亮"},
                                                    expect=_inside(resident="ok", **MANAGE_ONLY)),
}
API_OUTSIDE: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    key: _id("request_far") for key in API_RULES if "{request_id}" in key[1]
}
API_NAMES = (
    "request_list", "request_create", "category_list", "request_mine", "request_mine_detail", "request_detail",
    "request_accept", "request_assign", "request_dispatch", "request_start", "request_reply", "request_note",
    "request_resolve", "request_close", "request_rate", "request_reopen",
)
