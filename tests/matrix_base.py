"""What the permission matrix is made of: the personas, the world of objects they act
on, and the ``Rule`` each route declares. Apps add their routes' rules in
``tests/matrix_rules/<app>.py``; ``tests/test_permission_matrix.py`` merges them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from linli.accounts.models import Organisation, User
from linli.audit.models import AuditEvent
from linli.people.models import CorrectionRequest, Resident
from linli.requests.models import Request
from tests.conftest import Personas, Tree

ALL = ("anonymous", "resident", "other_resident", "grid_worker", "staff", "lead", "street_supervisor",
       "auditor", "partner", "outsider", "outside_staff", "superuser")
SIGNED_IN = frozenset(ALL) - {"anonymous"}
REGISTRY_READERS = frozenset({"grid_worker", "staff", "lead", "street_supervisor", "auditor"})
REGISTRY_WRITERS = frozenset({"grid_worker", "staff", "lead", "street_supervisor"})
AUDIT_READERS = frozenset({"lead", "street_supervisor", "auditor", "superuser"})
# Partners handle what is dispatched to them; the place tree and the registry are not theirs.
PLACE_READERS = frozenset({"grid_worker", "staff", "lead", "street_supervisor", "auditor"})
REVEALERS = frozenset({"grid_worker", "staff", "lead"})  # auditors and the street level read masked values only


@dataclass
class World:
    tree: Tree
    personas: Personas
    superuser: User
    resident_inside: Resident  # personas.resident's own record, in tree.household
    resident_other: Resident  # in tree.other_household (same unit)
    resident_far: Resident  # in the other community
    correction_inside: CorrectionRequest
    correction_far: CorrectionRequest
    consent_own: int
    event_inside: AuditEvent
    event_far: AuditEvent
    # Requests: one reported by ``resident`` in their household and dispatched to the
    # partner's organisation; one in the other community.
    organisation: Organisation
    request_inside: Request
    request_far: Request

    def user(self, persona: str) -> User | None:
        if persona == "anonymous":
            return None
        if persona == "superuser":
            return self.superuser
        return getattr(self.personas, persona)


@dataclass(frozen=True)
class Rule:
    """``expect`` maps persona → answer; personas not named get ``default``."""

    method: str = "get"
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    # A valid body, so that a refusal can only come from access control.
    data: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, str] = field(default_factory=dict)
    default: str = "404"

    def answer(self, persona: str) -> str:
        return self.expect.get(persona, self.default)


def everyone(answer: str = "ok", **overrides: str) -> dict[str, str]:
    return {p: overrides.get(p, answer) for p in ALL}


def only(personas: frozenset[str] | set[str], *, anonymous: str = "login", **overrides: str) -> dict[str, str]:
    expect = {p: "ok" for p in personas}
    expect["anonymous"] = anonymous
    expect.update(overrides)
    return expect


def signed_in(**overrides: str) -> dict[str, str]:
    return only(SIGNED_IN, **overrides)


def _pk(attr: str) -> Callable[[World], dict[str, Any]]:
    def kwargs(w: World) -> dict[str, Any]:
        obj: Any = w
        for part in attr.split("."):
            obj = getattr(obj, part)
        return {"pk": obj.pk}

    return kwargs


