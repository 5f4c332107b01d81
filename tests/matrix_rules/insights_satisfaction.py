"""Matrix rows of the satisfaction pages (满意度分析, ``linli.insights.satisfaction_views``).

They follow the surveys app: community staff, committee leads, street supervisors and
auditors read the runs of their scope; all but auditors start runs (auditors 403);
everyone else signed in gets 403 on the overview and the new-run page, and 404 for a
run (nothing leaks about it). The inside run is an uploaded file at ``tree.community``,
the far one the same at the other community. The overview's place travels in the query
string; a place outside the scope is checked in tests/insights (404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linli.insights.models import SatisfactionRun
from linli.insights.satisfaction import satisfaction_run_compute, satisfaction_run_for_upload
from tests.matrix_base import Rule, World, only

READERS = frozenset({"staff", "lead", "street_supervisor", "auditor", "superuser"})
WRITERS = frozenset({"staff", "lead", "street_supervisor", "superuser"})
ANSWERS = b"COMM1,COMM2,COMM3,SAT1,SAT2,SAT3\n1,2,3,4,5,6\n2,3,4,5,6,7\n3,4,5,6,7,8\n"


def _run(w: World, *, far: bool = False) -> SatisfactionRun:
    """Made once per world (the rows' ``kwargs`` run for each URL they build)."""
    attr = "_satisfaction_far" if far else "_satisfaction_inside"
    found = getattr(w, attr, None)
    if found is not None:
        return found
    run = satisfaction_run_for_upload(place=w.tree.other_community if far else w.tree.community,
                                      by=w.personas.outside_staff if far else w.personas.staff,
                                      name="answers.csv", data=ANSWERS, bootstrap=0)
    run = satisfaction_run_compute(run=run)
    setattr(w, attr, run)
    return run


def _pk(*, far: bool = False) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"pk": _run(w, far=far).pk}


RULES: dict[str, Rule] = {
    "insights:satisfaction": Rule(expect=only(READERS | {"outside_staff"}), default="403"),
    "insights:satisfaction_overview_export": Rule(expect=only(READERS | {"outside_staff"}), default="403"),
    # Starting a run: an empty POST gets past access control to a 400.
    "insights:satisfaction_new": Rule(method="post", expect=only(WRITERS | {"outside_staff"}), default="403"),
    "insights:satisfaction_run": Rule(kwargs=_pk(), expect=only(READERS)),
    "insights:satisfaction_print": Rule(kwargs=_pk(), expect=only(READERS)),
    "insights:satisfaction_export": Rule(kwargs=_pk(), expect=only(READERS)),
}

OUTSIDE: dict[str, Callable[[World], dict[str, Any]]] = {
    name: _pk(far=True) for name in ("insights:satisfaction_run", "insights:satisfaction_print",
                                     "insights:satisfaction_export")
}
