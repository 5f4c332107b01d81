"""Build the demo street once, and tell a newcomer how to sign in to it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyotp
from django.db import transaction
from django.urls import reverse

from linli.accounts.models import Role, User
from linli.audit.services import audit_record
from linli.demo.deliberation import deliberation_build
from linli.demo.generator import (
    SCALES,
    Generated,
    Identities,
    Progress,
    Scale,
    generate,
    seeded_rng,
)
from linli.demo.requests import REQUESTS_PER_HOUSEHOLD, RequestsBuilt, requests_build
from linli.demo.staff import SUPERUSER, create_accounts, plan_residents, plan_staff
from linli.demo.surveys import surveys_build
from linli.demo.votes import votes_build
from linli.insights.satisfaction import satisfaction_runs_for_demo
from linli.places.models import Place
from linli.surveys.models import Questionnaire, Template

DEMO_SEED = 2026
DEMO_PREFIX = "demo"
# The first district of a build: its presence means the demo is already here.
MARKER_CODE = f"{DEMO_PREFIX}-d1"


def demo_exists() -> bool:
    return Place.objects.filter(code=MARKER_CODE).exists()


@dataclass
class DemoBuild:
    generated: Generated
    accounts: list[User]
    skipped_usernames: list[str]
    seconds: float
    requests: RequestsBuilt | None = None


def build_demo(*, scale: Scale = SCALES["street"], seed: int = DEMO_SEED, progress: Progress | None = None) -> DemoBuild | None:
    """Build the demo street, all or nothing, with one audit event; ``None`` if it already exists."""
    if demo_exists():
        return None
    started = time.perf_counter()
    with transaction.atomic():
        generated = generate(scale=scale, seed=seed, prefix=DEMO_PREFIX, progress=progress)
        plans = plan_staff(generated=generated, ids=Identities(seed), rng=seeded_rng(seed, "staff"))
        plans += plan_residents(generated=generated)
        users, skipped = create_accounts(plans=plans, seed=seed)
        # A year of residents' requests up to today, handled by these staff and partners.
        requests = requests_build(community_ids=generated.community_ids, seed=seed,
                                  count=round(scale.households * REQUESTS_PER_HOUSEHOLD))
        generated.counts.update(organisations=requests.organisations, requests=requests.requests,
                                request_events=requests.events)
        surveys = surveys_build(community_ids=generated.community_ids, seed=seed)
        generated.counts.update(surveys.counts)
        # The satisfaction model on every round, so the dashboards have their numbers at once.
        rounds = Questionnaire.objects.filter(pk__in=surveys.questionnaires, template=Template.SATISFACTION)
        runs = satisfaction_runs_for_demo(questionnaires=list(rounds.order_by("opens_at", "pk")), bootstrap=200,
                                          seed=seed)
        generated.counts.update(satisfaction_runs=len(runs))
        generated.counts.update(deliberation_build(community_ids=generated.community_ids, seed=seed).counts())
        generated.counts.update(votes_build(community_ids=generated.community_ids, seed=seed).counts())
        audit_record(
            actor=None, action="demo.build", object_type="demo", object_id=MARKER_CODE,
            after={"seed": seed, "scale": scale.name, "accounts": len(users), **dict(sorted(generated.counts.items()))},
        )
    return DemoBuild(generated, users, skipped, time.perf_counter() - started, requests)


# Sign-ins ----------------------------------------------------------------------------

# One account per role, in the order a newcomer would try them.
SIGNIN_USERNAMES: list[str] = [
    SUPERUSER, "street-1", "lead-1", "staff-1a", "grid-1-1", "auditor-1", "partner-1", "resident-1a", "resident-1b",
]


@dataclass(frozen=True)
class Signin:
    role: str
    username: str
    phone: str
    scope: str
    totp_secret: str
    code: str


def current_code(user: User, *, at: float | None = None) -> str:
    return pyotp.TOTP(user.totp_secret).at(at if at is not None else time.time())


def demo_signins(*, at: float | None = None) -> list[Signin]:
    users = {u.username: u for u in User.objects.filter(username__in=SIGNIN_USERNAMES)}
    rows = []
    for username in SIGNIN_USERNAMES:
        user = users.get(username)
        if user is None:
            continue
        assignment = user.role_assignments.select_related("place").filter(is_active=True).first()
        role = str(Role(assignment.role).label) if assignment else "超级管理员 superuser"
        scope = assignment.place.address or assignment.place.name if assignment else "/admin/"
        if assignment and assignment.role == Role.GRID_WORKER:
            scope = f"{assignment.place.address}{assignment.place.name}"
        rows.append(Signin(
            role=role, username=username, phone=user.phone if assignment and assignment.role == Role.RESIDENT else "",
            scope=scope, totp_secret=user.totp_secret if user.has_totp else "",
            code=current_code(user, at=at) if user.has_totp else "",
        ))
    return rows


def login_path() -> str:
    return reverse("accounts:login")

