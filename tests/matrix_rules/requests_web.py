"""Matrix rows of the requests app's HTML pages and JSON API (``linli.requests``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.matrix_base import Rule, World, only

# Staff who see requests in their scope (auditors read); partners see what is dispatched to them.
REQUEST_READERS = frozenset({"grid_worker", "staff", "lead", "street_supervisor", "auditor", "superuser"})


def _request(attr: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"pk": getattr(w, attr).pk}


RULES: dict[str, Rule] = {
    "requests:detail": Rule(kwargs=_request("request_inside"), expect=only(REQUEST_READERS | {"partner"})),
    "requests:mine_detail": Rule(kwargs=_request("request_inside"), expect=only({"resident"})),
}
OUTSIDE: dict[str, Callable[[World], dict[str, Any]]] = {
    "requests:detail": _request("request_far"),
}
