"""Matrix rows of the rates pages and their JSON API (``linli.insights``).

The rates are read by community staff, committee leads, street supervisors and
auditors within their scope (``requests.models.RATES_ROLES``); everyone else signed
in gets 403. The ranking compares communities, so it needs a street (or district) in
scope. The filters travel in the query string, so a place outside the scope is
checked in tests/insights (404), not here."""

from __future__ import annotations

from tests.matrix_base import Rule, only

RATES_READERS = frozenset({"staff", "lead", "street_supervisor", "auditor", "superuser", "outside_staff"})
RANKERS = frozenset({"street_supervisor", "superuser"})

RULES: dict[str, Rule] = {
    "insights:rates": Rule(expect=only(RATES_READERS), default="403"),
    "insights:export": Rule(expect=only(RATES_READERS), default="403"),
    "insights:ranking": Rule(expect=only(RANKERS), default="403"),
    "insights:ranking_export": Rule(expect=only(RANKERS), default="403"),
}

API_RULES: dict[tuple[str, str], Rule] = {
    ("get", "/api/v1/insights/rates"): Rule(expect=only(RATES_READERS, anonymous="401"), default="403"),
    ("get", "/api/v1/insights/ranking"): Rule(expect=only(RANKERS, anonymous="401"), default="403"),
}

API_NAMES = {"rates_summary", "rates_ranking"}
