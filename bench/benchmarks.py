"""The measurements. Each returns plain numbers for the JSON report.

Django must be set up (``bench.generate.setup_django``) before this module is used.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from itertools import cycle
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from linli.accounts.middleware import SESSION_2FA
from linli.accounts.models import Role, User
from linli.accounts.services import role_grant, user_create
from linli.audit.models import AuditEvent
from linli.audit.services import audit_record, audit_verify
from linli.core.crypto import lookup_hash
from linli.demo.generator import Generated
from linli.people.models import Resident
from linli.places.models import Place, PlaceKind

BENCH_PASSWORD = "linli-bench-password-2026"  # noqa: S105 - a throwaway benchmark database


def timed(fn: Callable[[], object], runs: int, *, warmup: int = 1) -> dict[str, Any]:
    """Wall-clock milliseconds of ``runs`` calls: p50, p95, mean, min, max."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) >= 2 else times[0]
    return {
        "runs": runs,
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(p95, 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "min_ms": round(min(times), 3),
        "max_ms": round(max(times), 3),
    }


def place_descendants(generated: Generated, runs: int) -> dict[str, Any]:
    """Everything below a node is one indexed prefix query on the materialised path."""
    nodes = {
        "community": Place.objects.get(pk=generated.community_ids[0]),
        "street": Place.objects.get(pk=generated.street_ids[0]),
        "district": Place.objects.get(pk=generated.district_ids[0]),
    }
    out: dict[str, Any] = {}
    for label, node in nodes.items():
        below = Place.objects.below(node)
        out[f"place_descendants_count_{label}"] = {**timed(below.count, runs), "nodes": below.count()}
        households = below.of_kind(PlaceKind.HOUSEHOLD).values_list("id", flat=True)
        out[f"place_descendants_households_{label}"] = {
            **timed(lambda q=households: list(q.all()), runs),  # type: ignore[misc]
            "rows": households.count(),
        }
    return out


def phone_search(generated: Generated, runs: int) -> dict[str, Any]:
    """Exact lookup of a resident by mobile number: HMAC the input, then an indexed equality."""
    sample = [
        phone for phone in Resident.objects.filter(community_id=generated.community_ids[0])
        .exclude(phone_hash="").order_by("pk").values_list("phone", flat=True)[:200]
    ]
    if not sample:
        return {"resident_search_by_phone": {"skipped": "no resident has a phone"}}
    phones = cycle(sample)
    misses = 0

    def search() -> None:
        nonlocal misses
        if Resident.objects.filter(phone_hash=lookup_hash(next(phones))).values_list("pk", flat=True).first() is None:
            misses += 1

    result = timed(search, runs)
    return {"resident_search_by_phone": {**result, "misses": misses}}


def _signed_in_client(user: User) -> Client:
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")), "localhost")
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    session = client.session
    session[SESSION_2FA] = True
    session.save()
    return client


def people_pages(generated: Generated, runs: int) -> dict[str, Any]:
    """The people list page and ``/api/v1/people/residents`` through Django's test client,
    for community staff (one community) and a street supervisor (the whole street)."""
    viewers = []
    for username, role, place_id in (
        ("bench-staff", Role.COMMUNITY_STAFF, generated.community_ids[0]),
        ("bench-street", Role.STREET_SUPERVISOR, generated.street_ids[0]),
    ):
        user = User.objects.filter(username=username).first() or user_create(username=username, password=BENCH_PASSWORD)
        role_grant(user=user, role=role, place=Place.objects.get(pk=place_id))
        viewers.append((username.removeprefix("bench-"), _signed_in_client(user)))
    urls = {"people_list_page": reverse("people:resident_list"), "api_people_residents": "/api/v1/people/residents"}
    out: dict[str, Any] = {}
    # The packaged static storage needs collectstatic's manifest; a benchmark does not.
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}), warnings.catch_warnings():
        # WhiteNoise warns that collectstatic has not run: irrelevant to these timings.
        warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
        for viewer, client in viewers:
            for name, url in urls.items():
                with CaptureQueriesContext(connection) as queries:
                    status = client.get(url).status_code
                query_count = len(queries)  # now: later requests reset the connection's query log
                out[f"{name}_{viewer}"] = {
                    **timed(lambda c=client, u=url: c.get(u), runs),  # type: ignore[misc]
                    "url": url, "status": status, "queries": query_count,
                }
    return out


def audit_rates(events: int) -> dict[str, Any]:
    """Appending: one event per transaction, as services do. Verifying: the whole chain."""
    started = time.perf_counter()
    for i in range(events):
        audit_record(actor=None, action="bench.append", object_type="bench", object_id=str(i),
                     after={"i": i, "name": "张三", "note": "基准测试"})
    append_seconds = time.perf_counter() - started
    total = AuditEvent.objects.count()
    started = time.perf_counter()
    checked, problems = audit_verify()
    verify_seconds = time.perf_counter() - started
    return {
        "audit_append": {"events": events, "seconds": round(append_seconds, 3),
                         "events_per_second": round(events / max(append_seconds, 1e-9), 1)},
        "audit_verify": {"events": checked, "chain_length": total, "problems": len(problems),
                         "seconds": round(verify_seconds, 3),
                         "events_per_second": round(checked / max(verify_seconds, 1e-9), 1)},
    }


def people_import(generated: Generated, rows: int, bad_every: int = 200) -> dict[str, Any]:
    """A workbook of ``rows`` residents (one bad row in every ``bad_every``) imported into a
    fresh community: the issue's 10,000 rows with 50 bad ones by default."""
    import io
    from datetime import date

    import openpyxl
    from django.core.files.uploadedfile import SimpleUploadedFile

    from linli.demo.generator import id_check_digit
    from linli.people.importer import import_file
    from linli.places.services import place_create

    street = Place.objects.get(pk=generated.street_ids[0])
    community = place_create(parent=street, kind=PlaceKind.COMMUNITY, name="基准导入社区", code=f"bench-import-{rows}")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("居民")
    sheet.append(["户编号", "楼栋", "单元", "房号", "姓名", "性别", "出生日期", "与户主关系", "身份证号", "手机号", "特殊群体"])
    bad = 0
    for i in range(rows):
        born = date(1930 + i % 80, 1 + i % 12, 1 + i % 28)
        # Another area code and number range than the generated street, so no row clashes with it.
        first17 = f"650102{born:%Y%m%d}{(i % 499) * 2 + 1:03d}"
        household = i // 3
        row = [f"B{household:06d}", str(1 + household % 40), str(1 + household % 4), str(101 + household),
               f"居民{i:06d}", "", "", "户主" if i % 3 == 0 else "子女", first17 + id_check_digit(first17),
               f"147{i:08d}", "独居老人" if i % 97 == 0 else ""]
        if i % bad_every == bad_every - 1:
            row[9] = "12345"  # not a mobile number
            bad += 1
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    upload = SimpleUploadedFile("bench.xlsx", out.getvalue())
    started = time.perf_counter()
    report = import_file(community=community, upload=upload, by=None)
    seconds = time.perf_counter() - started
    return {
        "people_import": {
            "rows": rows, "bad_rows": bad, "reported_errors": len(report.errors), "created": report.created,
            "seconds": round(seconds, 3), "rows_per_second": round(rows / max(seconds, 1e-9), 1),
            "bytes": len(out.getvalue()),
        }
    }
