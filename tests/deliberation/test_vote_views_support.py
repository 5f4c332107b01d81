"""Helpers for the vote page tests: votes that are open *now* (the pages use the real
clock), made and moved on through the services, as the product does."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.deliberation import services
from linli.deliberation.models import Vote
from tests.conftest import Personas, Tree, login

HTMX = {"HTTP_HX_REQUEST": "true"}


def window() -> tuple[datetime, datetime]:
    now = timezone.now().replace(microsecond=0)
    return now - timedelta(hours=1), now + timedelta(days=2)


def new_vote(tree: Tree, personas: Personas, *, open_it: bool = True, **fields: Any) -> Vote:
    opens, closes = window()
    values: dict[str, Any] = {
        "place": tree.community, "title": "是否增设电动自行车充电桩", "question_kind": "yes_no",
        "eligibility": "adults", "rule": "simple_majority", "opens_at": opens, "closes_at": closes, "secret": True,
    }
    values.update(fields)
    vote = services.vote_create(by=personas.staff, **values)
    if open_it:
        vote = services.vote_open(vote=vote, by=personas.lead, at=timezone.now())
    return vote


def close(vote: Vote, personas: Personas) -> Vote:
    return services.vote_close(vote=vote, by=personas.lead, at=vote.closes_at + timedelta(minutes=1))


def as_user(user: Any) -> Client:
    return login(Client(), user)


def queries(client: Client, url: str, **params: Any) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
        assert response.status_code == 200, response.status_code
    return len(context.captured_queries)


def text(response: Any) -> str:
    return response.content.decode()


def plain(response: Any) -> str:
    """The page's text without its tags (receipt codes are set in groups of four)."""
    return re.sub(r"<[^>]+>", "", text(response))
