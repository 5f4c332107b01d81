"""Demo accounts: staff in every role with a confirmed second factor, and residents.

Usernames follow one pattern (``lead-1`` leads community 1, ``grid-1-2`` works its
second grid …) so a newcomer can guess them. Every demo account shares one
documented password, and staff TOTP secrets are derived from the install's secret
key and the seed, so ``linli demo --code USER`` can always show a valid code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from linli.accounts.models import Role, RoleAssignment, User
from linli.core.crypto import lookup_hash
from linli.demo.generator import REFERENCE_DATE, Generated, Identities, random_person_name
from linli.people.models import Gender, Resident
from linli.places.models import Place

DEMO_PASSWORD = "linli-demo-2026"  # noqa: S105 - published on purpose: demo data only
SUPERUSER = "admin"


def totp_secret_for(username: str, seed: int) -> str:
    """A stable base32 TOTP secret for a demo account (160 bits, as pyotp makes them)."""
    message = f"linli-demo-totp:{seed}:{username}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode("ascii")


@dataclass(frozen=True)
class AccountPlan:
    username: str
    display_name: str
    role: str | None  # None: the superuser, who holds no place-bound role
    place_id: int | None
    phone: str = ""
    resident_id: int | None = None
    elder_mode: bool = False


def _company(community: Place) -> str:
    return community.name.removesuffix("社区") + "物业服务有限公司"


def plan_staff(*, generated: Generated, ids: Identities, rng: random.Random) -> list[AccountPlan]:
    def person() -> str:
        gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
        return random_person_name(rng, gender, rng.randint(1971, 2001))

    plans = [AccountPlan(SUPERUSER, "系统管理员", None, None, ids.staff_phone())]
    for s, street_id in enumerate(generated.street_ids, start=1):
        plans.append(AccountPlan(f"street-{s}", person(), Role.STREET_SUPERVISOR, street_id, ids.staff_phone()))
    communities = Place.objects.in_bulk(generated.community_ids)
    for c, community_id in enumerate(generated.community_ids, start=1):
        plans += [
            AccountPlan(f"lead-{c}", person(), Role.COMMITTEE_LEAD, community_id, ids.staff_phone()),
            AccountPlan(f"staff-{c}a", person(), Role.COMMUNITY_STAFF, community_id, ids.staff_phone()),
            AccountPlan(f"staff-{c}b", person(), Role.COMMUNITY_STAFF, community_id, ids.staff_phone()),
            AccountPlan(f"auditor-{c}", person(), Role.AUDITOR, community_id, ids.staff_phone()),
            AccountPlan(f"partner-{c}", f"{_company(communities[community_id])} {person()}", Role.PARTNER,
                        community_id, ids.staff_phone()),
        ]
        plans += [
            AccountPlan(f"grid-{c}-{g}", person(), Role.GRID_WORKER, grid_id, ids.staff_phone())
            for g, grid_id in enumerate(generated.grid_ids[community_id], start=1)
        ]
    return plans


def _years_ago(years: int) -> date:
    return REFERENCE_DATE - timedelta(days=round(years * 365.2425))


def plan_residents(*, generated: Generated) -> list[AccountPlan]:
    """In each community, one working-age resident and one older resident (in elder mode)
    who have a mobile number get an account and sign in with it."""
    plans: list[AccountPlan] = []
    for c, community_id in enumerate(generated.community_ids, start=1):
        base = Resident.objects.filter(community_id=community_id, user__isnull=True).exclude(phone_hash="").select_related("household").order_by("pk")
        picks = [
            ("a", base.filter(birth_date__lte=_years_ago(30), birth_date__gt=_years_ago(60)).first(), False),
            ("b", base.filter(birth_date__lte=_years_ago(68)).first(), True),
        ]
        for suffix, resident, elder_mode in picks:
            if resident is not None:
                plans.append(AccountPlan(
                    f"resident-{c}{suffix}", resident.name, Role.RESIDENT, resident.household.place_id,
                    resident.phone, resident.pk, elder_mode,
                ))
    return plans


def create_accounts(*, plans: list[AccountPlan], seed: int) -> tuple[list[User], list[str]]:
    """Create the planned accounts in bulk; returns them and the usernames skipped
    because an account of that name already exists (it is left untouched)."""
    taken = set(User.objects.filter(username__in=[p.username for p in plans]).values_list("username", flat=True))
    plans = [p for p in plans if p.username not in taken]
    # One slow hash for all: the demo password is public anyway.
    password = make_password(DEMO_PASSWORD)
    now = timezone.now()
    users = []
    for plan in plans:
        second_factor = plan.role != Role.RESIDENT
        users.append(User(
            username=plan.username, display_name=plan.display_name, password=password,
            phone=plan.phone, phone_hash=lookup_hash(plan.phone) if plan.phone else None,
            is_superuser=plan.role is None, is_staff=plan.role is None, elder_mode=plan.elder_mode,
            totp_secret=totp_secret_for(plan.username, seed) if second_factor else "",
            totp_confirmed_at=now if second_factor else None,
        ))
    User.objects.bulk_create(users)
    RoleAssignment.objects.bulk_create([
        RoleAssignment(user_id=user.pk, role=plan.role, place_id=plan.place_id)
        for user, plan in zip(users, plans, strict=True)
        if plan.role is not None and plan.place_id is not None
    ])
    for user, plan in zip(users, plans, strict=True):
        if plan.resident_id is not None:
            Resident.objects.filter(pk=plan.resident_id).update(user_id=user.pk)
    return users, sorted(taken)
