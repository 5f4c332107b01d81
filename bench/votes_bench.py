"""Vote benchmarks: tallying a 100,000-owner vote, and casting throughput.

    python -m bench.votes_bench                         # temporary SQLite file
    python -m bench.votes_bench --database-url postgres://postgres@127.0.0.1:5432/linli_votes_bench

What is measured (targets from issue 4, reported, never asserted):

- ``owner_roll_import``: ``owner_roll_import`` on a generated 100,000-row register (.csv).
- ``vote_open_owners``: opening an owners' vote builds its 100,000-row roll.
- ``vote_tally_owners`` (target ≤ 1 s): ``vote_tally`` — the service, with its
  aggregation in SQL and the Art. 278 rule in exact fractions — on a closed vote where
  all 100,000 owners voted. The ballots are bulk-inserted as setup (casting 100,000
  through the service is what the casting benchmark measures), the roll flags set.
- ``vote_publish_owners``: freezing the 100,000-ballot result document, hashing it
  into the audit chain; ``vote_verify_file_owners``: recounting it from the file alone.
- ``vote_cast_*`` (target ≥ 300 ballots/s on 2 cores): ``vote_cast`` (the whole web
  service: choice check, roll lookup, the claim, the ballot, the vote lock, the audit
  event, commit) for every adult of a generated community (~1,800 voters), by several
  threads or several processes at once, each voter once, for a secret and a named vote.

The runner may call ``run_votes(…)`` after Django is set up (it makes its own places,
with codes that start with ``vbench``). Results: bench/results/votes-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.generate import database_label, setup_django

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CHOICES = ("for", "for", "against", "abstain")


def _seconds(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _staff(community: Any, tag: str) -> tuple[Any, Any]:
    from linli.accounts.models import Role, User
    from linli.accounts.services import role_grant

    lead = User.objects.create(username=f"vbench-lead-{tag}")
    staff = User.objects.create(username=f"vbench-staff-{tag}")
    role_grant(user=lead, role=Role.COMMITTEE_LEAD, place=community)
    role_grant(user=staff, role=Role.COMMUNITY_STAFF, place=community)
    return lead, staff


# Tallying 100,000 owners --------------------------------------------------------------------

def _register_csv(owners: int, rng: random.Random) -> bytes:
    lines = ["房屋,业主,建筑面积,未售"]
    unit = 0
    for i in range(owners - 1):
        units = 2 if i % 50 == 0 else 1  # one buyer in fifty holds two units
        for _ in range(units):
            unit += 1
            lines.append(f"{unit // 1000 + 1}-{unit % 1000:03d}-{unit},业主{i:06d},{rng.randint(4000, 16000) / 100},")
    for _ in range(20):  # the developer's unsold units: together one owner
        unit += 1
        lines.append(f"D-{unit},,{rng.randint(6000, 12000) / 100},是")
    return ("\n".join(lines) + "\n").encode("utf-8")


def tally_owners(*, owners: int, runs: int, seed: int, tag: str, echo: Callable[[str], None]) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection, transaction

    from linli.deliberation import counting, published, services, voting
    from linli.deliberation.models import OpenBallot, VoterRollEntry
    from linli.places.models import PlaceKind
    from linli.places.services import place_create

    rng = random.Random(seed)
    results: dict[str, Any] = {}
    district = place_create(parent=None, kind=PlaceKind.DISTRICT, name="表决测试区", code=f"vbench-{tag}-d")
    street = place_create(parent=district, kind=PlaceKind.STREET, name="表决测试街道", code=f"vbench-{tag}-s")
    community = place_create(parent=street, kind=PlaceKind.COMMUNITY, name="表决测试社区", code=f"vbench-{tag}-c")
    lead, staff = _staff(community, f"{tag}-o")

    data = _register_csv(owners, rng)
    upload = SimpleUploadedFile("register.csv", data, content_type="text/csv")
    echo(f"bench votes: importing a {owners:,}-owner register ({len(data) / 1e6:.1f} MB) …")
    seconds, report = _seconds(lambda: services.owner_roll_import(place=community, by=staff, upload=upload))
    assert report.roll is not None and not report.errors, report.errors[:3]
    results["owner_roll_import"] = {"seconds": round(seconds, 3), "units": report.units, "owners": report.owners,
                                    "units_per_second": round(report.units / seconds, 1)}

    now = datetime.now(UTC)
    vote = services.vote_create(
        by=staff, place=community, title="选聘物业服务企业", question_kind="yes_no", eligibility="owners",
        rule="civil_code_ordinary", secret=False, owner_roll=report.roll, opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=7),
    )
    seconds, vote = _seconds(lambda: services.vote_open(vote=vote, by=lead, at=now - timedelta(minutes=30)))
    results["vote_open_owners"] = {"seconds": round(seconds, 3), "roll": vote.roll_headcount}

    echo(f"bench votes: inserting {vote.roll_headcount:,} ballots (setup, not timed) …")
    entries = list(VoterRollEntry.objects.filter(vote=vote).values_list("pk", "area"))
    with transaction.atomic():
        OpenBallot.objects.bulk_create([
            OpenBallot(vote=vote, entry_id=pk, choice=CHOICES[rng.randrange(len(CHOICES))], receipt=voting.new_receipt(),
                       area=area, headcount=1, channel="web", cast_by_label="bench", cast_at=now)
            for pk, area in entries
        ], batch_size=5000)
        VoterRollEntry.objects.filter(vote=vote).update(voted=True, channel="web")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    vote = services.vote_close(vote=vote, by=lead, at=now)

    times = []
    outcome = None
    for _ in range(runs + 1):  # the first run warms up
        seconds, outcome = _seconds(lambda: services.vote_tally(vote=vote, by=lead))
        times.append(seconds)
    times = times[1:]
    assert outcome is not None
    results["vote_tally_owners"] = {
        "owners": vote.roll_headcount, "ballots": outcome.participants, "runs": runs,
        "p50_ms": round(statistics.median(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1),
        "passed": outcome.passed, "target_ms": 1000,
    }
    seconds, result = _seconds(lambda: services.vote_publish(vote=vote, by=lead, at=now))
    results["vote_publish_owners"] = {"seconds": round(seconds, 3), "document_mb": round(len(result.document.encode()) / 1e6, 2)}
    data = result.document.encode("utf-8")
    seconds, checked = _seconds(lambda: published.verify_bytes(data))
    assert checked.ok, checked.problems
    results["vote_verify_file_owners"] = {"seconds": round(seconds, 3), "ballots": checked.ballots}
    seconds, checked_db = _seconds(lambda: counting.vote_verify(vote=vote))
    # The ballots were bulk-inserted, not cast: the check that every ballot has its cast
    # event in the audit chain rightly reports them, and only that.
    results["vote_verify_database_owners"] = {"seconds": round(seconds, 3), "problems": checked_db.problems}
    return results


# Casting throughput ----------------------------------------------------------------------------

def _casting_setup(*, seed: int, tag: str, echo: Callable[[str], None]) -> tuple[Any, Any, list[int]]:
    """A generated community whose adults all have accounts; returns it, its lead and the
    ids of the adults' accounts."""
    from django.db import transaction

    from linli.accounts.models import User
    from linli.deliberation.selectors import adults_in
    from linli.demo.generator import SCALES, generate
    from linli.people.models import Resident
    from linli.places.models import Place, PlaceKind

    today = datetime.now(UTC).date()
    # Inside `make bench` the generated street is there: its first community votes. Alone,
    # a community is generated (generating again beside the street would repeat its ID numbers).
    community = Place.objects.filter(kind=PlaceKind.COMMUNITY).order_by("pk").first()
    if community is None or not adults_in(community.path, today).filter(user__isnull=True).exists():
        echo("bench votes: generating a community of voters …")
        generated = generate(scale=SCALES["community"], seed=seed, prefix=f"vbench{tag}")
        community = Place.objects.get(pk=generated.community_ids[0])
    lead, _staff_user = _staff(community, f"{tag}-c")
    adults = list(adults_in(community.path, today).filter(user__isnull=True).values_list("pk", flat=True))
    with transaction.atomic():
        # "!" is Django's unusable password: these accounts never sign in.
        unusable = "!"
        users = User.objects.bulk_create([User(username=f"vbench-{tag}-{pk}", password=unusable) for pk in adults],
                                         batch_size=2000)
        Resident.objects.bulk_update([Resident(pk=pk, user_id=user.pk) for pk, user in zip(adults, users, strict=True)],
                                     ["user"], batch_size=2000)
    return community, lead, [user.pk for user in users]


def _cast_all(vote_id: int, user_ids: Sequence[int], seed: int, *, close: bool = True) -> tuple[int, int]:
    """Cast one ballot for each user through the service; (cast, refused). A thread or
    process of its own closes its connection afterwards (``close``)."""
    from django.db import connection

    from linli.accounts.models import User
    from linli.deliberation import services
    from linli.deliberation.models import Vote

    rng = random.Random(seed)
    vote = Vote.objects.get(pk=vote_id)
    users = {u.pk: u for u in User.objects.filter(pk__in=list(user_ids))}
    cast = refused = 0
    try:
        for pk in user_ids:
            try:
                services.vote_cast(vote=vote, by=users[pk], choice=CHOICES[rng.randrange(len(CHOICES))])
                cast += 1
            except Exception:  # noqa: BLE001 - counted and reported
                refused += 1
    finally:
        if close:
            connection.close()
    return cast, refused


def _cast_all_timed(vote_id: int, user_ids: Sequence[int], seed: int) -> tuple[int, int, float]:
    cpu = time.process_time()
    cast, refused = _cast_all(vote_id, user_ids, seed)
    return cast, refused, time.process_time() - cpu


def _process_entry(vote_id: int, user_ids: list[int], seed: int, start: Any, queue: Any) -> None:
    start.wait()
    queue.put(_cast_all_timed(vote_id, user_ids, seed))


def _run_casting(vote_id: int, user_ids: list[int], *, mode: str, workers: int) -> dict[str, Any]:
    from django.db import connections

    slices = [user_ids[i::workers] for i in range(workers)]
    if mode == "inline":
        # In the calling thread, on its connection: what a test inside a transaction can run
        # (other threads' connections would not see its uncommitted rows, or wait on its locks).
        started, cpu = time.perf_counter(), time.process_time()
        cast, refused = _cast_all(vote_id, user_ids, 0, close=False)
        seconds = time.perf_counter() - started
        outcomes = [(cast, refused, time.process_time() - cpu)]
    elif mode == "threads":
        outcomes: list[tuple[int, int, float]] = []
        lock = threading.Lock()
        barrier = threading.Barrier(workers + 1)

        def run(i: int) -> None:
            barrier.wait()
            cast, refused = _cast_all(vote_id, slices[i], i)
            with lock:
                outcomes.append((cast, refused, 0.0))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
        for thread in threads:
            thread.start()
        barrier.wait()
        started, cpu = time.perf_counter(), time.process_time()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        outcomes.append((0, 0, time.process_time() - cpu))  # every thread's CPU time, in this process
    else:
        connections.close_all()  # children open their own connections
        context = multiprocessing.get_context("fork")
        start = context.Event()
        queue = context.Queue()
        processes = [context.Process(target=_process_entry, args=(vote_id, slices[i], i, start, queue))
                     for i in range(workers)]
        for process in processes:
            process.start()
        time.sleep(0.5)  # let every child reach the start line
        started = time.perf_counter()
        start.set()
        outcomes = [queue.get() for _ in processes]
        seconds = time.perf_counter() - started
        for process in processes:
            process.join()
    cast = sum(c for c, _r, _t in outcomes)
    refused = sum(r for _c, r, _t in outcomes)
    cpu_seconds = sum(t for _c, _r, t in outcomes)
    return {"mode": mode, "workers": workers, "ballots": cast, "refused": refused, "seconds": round(seconds, 3),
            "ballots_per_second": round(cast / seconds, 1), "target_per_second": 300,
            # Python CPU time of the casting processes per ballot (the database server's
            # own CPU is not in it on PostgreSQL): comparable across loaded machines.
            "client_cpu_ms_per_ballot": round(cpu_seconds * 1000 / cast, 2) if cast else None,
            "load_average_1m": round(os.getloadavg()[0], 2)}


def casting(*, seed: int, tag: str, plans: Sequence[tuple[str, int]], echo: Callable[[str], None]) -> dict[str, Any]:
    from linli.deliberation import services
    from linli.deliberation.models import SecretBallot

    community, lead, user_ids = _casting_setup(seed=seed, tag=tag, echo=echo)
    results: dict[str, Any] = {}
    now = datetime.now(UTC)
    for secret in (True, False):
        for mode, workers in plans:
            vote = services.vote_create(
                by=lead, place=community, title="是否增设充电桩", question_kind="yes_no", eligibility="adults",
                rule="simple_majority", secret=secret, opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=1),
            )
            vote = services.vote_open(vote=vote, by=lead, at=now - timedelta(minutes=30))
            name = f"vote_cast_{'secret' if secret else 'named'}_{mode}_{workers}"
            echo(f"bench votes: {name}: {len(user_ids):,} voters …")
            result = _run_casting(vote.pk, user_ids, mode=mode, workers=workers)
            if secret:
                result["stored"] = SecretBallot.objects.filter(vote=vote).count()
            results[name] = result
    return results


DEFAULT_PLANS = "threads:1,threads:4,processes:2,processes:4"


def parse_plans(text: str) -> list[tuple[str, int]]:
    """``"threads:4,processes:2"`` → ``[("threads", 4), ("processes", 2)]``."""
    plans = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        mode, _sep, workers = item.partition(":")
        if mode not in ("inline", "threads", "processes") or not workers.isdigit() or int(workers) < 1:
            raise SystemExit(f"bench votes: a casting plan is mode:workers (inline, threads or processes), not {item!r}")
        plans.append((mode, int(workers)))
    return plans


def run_votes(*, owners: int = 100_000, runs: int = 5, seed: int = 2026,
              plans: Sequence[tuple[str, int]] = tuple(parse_plans(DEFAULT_PLANS)),
              echo: Callable[[str], None] = print) -> dict[str, Any]:
    """The hook for ``python -m bench``: every vote benchmark, as one dict of results."""
    tag = datetime.now(UTC).strftime("%H%M%S")
    results = tally_owners(owners=owners, runs=runs, seed=seed, tag=tag, echo=echo)
    results.update(casting(seed=seed, tag=tag, plans=plans, echo=echo))
    return results


def _line(name: str, result: dict[str, Any]) -> str:
    if "ballots_per_second" in result:
        return (f"  {name:<36} {result['ballots_per_second']:>9,.0f} ballots/s  ({result['ballots']:,} in "
                f"{result['seconds']:.2f} s, {result['refused']} refused, "
                f"{result['client_cpu_ms_per_ballot']} ms CPU/ballot, load {result['load_average_1m']})")
    if "p50_ms" in result:
        return f"  {name:<36} p50 {result['p50_ms']:>8.1f} ms  max {result['max_ms']:.1f} ms ({result['ballots']:,} ballots)"
    return f"  {name:<36} {result}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.votes_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="database to use (default: LINLI_DATABASE_URL, else a temporary SQLite file)")
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="timed tally runs (default 5)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--plans", default=DEFAULT_PLANS,
                        help="casting runs as mode:workers, comma-separated; modes: inline, threads, processes")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    plans = parse_plans(args.plans)
    tmpdir = setup_django(args.database_url)
    try:
        import django

        started = time.perf_counter()
        results = run_votes(owners=args.owners, runs=args.runs, seed=args.seed, plans=plans)
        created = datetime.now(UTC)
        report = {
            "name": "votes", "created_at": created.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 3), "database": database_label(),
            "environment": {"python": platform.python_version(), "django": django.get_version(),
                            "platform": platform.platform(terse=True), "cpus": os.cpu_count()},
            "results": results,
        }
        args.output_dir.mkdir(parents=True, exist_ok=True)
        path = args.output_dir / f"votes-{created:%Y%m%dT%H%M%SZ}.json"
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"bench votes on {report['database']['vendor']} in {report['seconds']:.1f} s")
        for name, result in results.items():
            print(_line(name, result))
        print(f"bench votes: report written to {path.name} in {args.output_dir.name}/")
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
