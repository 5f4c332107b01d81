"""The Open311 queue (OPEN311_QUEUE): a POST is checked and queued, the worker files it,
and the token gives the request's number once it is filed."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from PIL import Image

from linli.core import jobs
from linli.core.management.commands.worker import PollerThread
from linli.requests import queue
from linli.requests.models import (
    Category,
    Channel,
    EventKind,
    Request,
    RequestRollup,
    Status,
    Submission,
)
from tests.conftest import Tree
from tests.requests.open311.conftest import BASE, Keys, as_json, error_codes, xml
from tests.requests.open311.test_post import form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]


@pytest.fixture
def queued() -> Any:
    with override_settings(OPEN311_QUEUE=True):
        yield


def post(client: Client, keys: Keys, fmt: str = "json", **extra: Any) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", form(api_key=keys.community, **extra))


def test_a_post_is_queued_and_answers_a_token_alone(client: Client, keys: Keys) -> None:
    response = post(client, keys, address_id="h1", phone="13800138000", first_name="三", last_name="张",
                    account_id="acc-9")
    assert response.status_code == 200
    (answer,) = as_json(response)
    assert set(answer) == {"token", "service_notice", "account_id"}
    assert answer["account_id"] == "acc-9" and "token" in answer["service_notice"]
    assert not Request.objects.exists()
    row = Submission.objects.get()
    assert row.state == Submission.State.QUEUED and row.request is None
    # What the resident wrote is encrypted at rest, as on the request itself.
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM requests_submission")
        (raw,) = cursor.fetchone()
    assert "13800138000" not in raw and "楼道灯" not in raw
    assert "13800138000" in row.payload


def test_the_xml_answer_has_the_token(client: Client, keys: Keys) -> None:
    root = xml(post(client, keys, fmt="xml"))
    (item,) = root
    assert [c.tag for c in item] == ["token", "service_notice", "account_id"]


def test_the_token_waits_then_gives_the_filed_request(client: Client, keys: Keys, tree: Tree) -> None:
    (answer,) = as_json(post(client, keys, address_id="h1", phone="13800138000", first_name="三", last_name="张"))
    token = answer["token"]
    pending = client.get(f"{BASE}/tokens/{token}.json")
    assert pending.status_code == 200 and as_json(pending) == [{"token": token}]
    received = Submission.objects.get().received_at

    assert queue.queue_poll() == {"filed": 1, "refused": 0, "retry": 0}
    assert queue.queue_poll() is None  # nothing left: one indexed read

    req = Request.objects.get()
    assert req.channel == Channel.OPEN311 and req.status == Status.SUBMITTED and req.place == tree.household
    assert req.submitted_at == received  # the deadlines count from the receipt, not from the filing
    assert req.accept_due_at is not None and req.accept_due_at > received
    assert (req.contact_name, req.contact_phone) == ("张三", "13800138000")
    assert req.attributes == {"facility": "light"} and req.events.get().kind == EventKind.SUBMITTED
    assert RequestRollup.objects.get().submitted == 1
    row = Submission.objects.get()
    assert (row.state, row.request, row.payload) == (Submission.State.FILED, req, "")
    assert row.processed_at is not None
    done = client.get(f"{BASE}/tokens/{token}.json")
    assert as_json(done) == [{"service_request_id": str(req.pk), "token": token}]


def test_bad_input_is_refused_at_once_and_nothing_is_queued(client: Client, keys: Keys) -> None:
    response = post(client, keys, **{"attribute[facility]": "teapot"})
    assert response.status_code == 400 and error_codes(response) == [400]
    response = post(client, keys, description="字" * 5000)
    assert response.status_code == 400
    assert not Submission.objects.exists()


def test_a_photo_is_filed_at_once(client: Client, keys: Keys) -> None:
    buffer = __import__("io").BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG")
    photo = SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")
    response = client.post(f"{BASE}/requests.json", {**form(api_key=keys.community), "media": photo})
    (answer,) = as_json(response)
    assert Request.objects.filter(pk=int(answer["service_request_id"])).exists()
    assert not Submission.objects.exists()


def test_a_post_filed_at_once_reads_the_category_and_place_afresh(client: Client, keys: Keys, tree: Tree) -> None:
    from linli.places.models import Place

    assert post(client, keys, address_id="h1").status_code == 200  # the copies are warm now
    # Another process closes the category (no signal reaches this one's copies).
    Category.objects.filter(code="repairs").update(is_active=False)
    buffer = __import__("io").BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG")
    photo = SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")
    response = client.post(f"{BASE}/requests.json", {**form(api_key=keys.community, address_id="h1"), "media": photo})
    assert response.status_code == 400 and "停用" in as_json(response)[0]["description"]
    Category.objects.filter(code="repairs").update(is_active=True)
    Place.objects.filter(pk=tree.household.pk).update(is_active=False)
    photo.seek(0)
    response = client.post(f"{BASE}/requests.json", {**form(api_key=keys.community, address_id="h1"), "media": photo})
    assert response.status_code == 400
    assert not Request.objects.exists()


def test_a_submission_whose_category_closed_meanwhile_is_refused_with_the_reason(client: Client, keys: Keys) -> None:
    (answer,) = as_json(post(client, keys))
    Category.objects.filter(code="repairs").update(is_active=False)
    assert queue.submissions_file() == {"filed": 0, "refused": 1, "retry": 0}
    row = Submission.objects.get()
    assert row.state == Submission.State.REFUSED and "停用" in row.error and row.payload == ""
    response = client.get(f"{BASE}/tokens/{answer['token']}.json")
    assert response.status_code == 400 and "停用" in as_json(response)[0]["description"]
    assert not Request.objects.exists()


def test_an_unexpected_failure_waits_and_is_tried_again_and_refused_only_after_days(
        client: Client, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    as_json(post(client, keys))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(queue, "request_file", broken)
    assert queue.submissions_file() == {"filed": 0, "refused": 0, "retry": 1}
    row = Submission.objects.get()
    assert (row.state, row.attempts) == (Submission.State.QUEUED, 1) and row.retry_at > timezone.now()
    assert queue.queue_poll() is None  # waiting: the worker's polls leave it alone
    waits = []
    for attempt in range(2, 5):
        Submission.objects.update(retry_at=timezone.now())  # the wait is over
        assert queue.submissions_file() == {"filed": 0, "refused": 0, "retry": 1}
        row = Submission.objects.get()
        waits.append(row.retry_at - timezone.now())
        assert row.attempts == attempt
    assert waits[0] < waits[1] < waits[2] <= queue.RETRY_MAX  # longer each time
    Submission.objects.update(retry_at=timezone.now(), received_at=timezone.now() - queue.GIVE_UP_AFTER)
    assert queue.submissions_file() == {"filed": 0, "refused": 1, "retry": 0}
    assert Submission.objects.get().state == Submission.State.REFUSED
    assert not Request.objects.exists()
    monkeypatch.undo()


def test_a_payload_that_cannot_be_read_fails_alone(client: Client, keys: Keys) -> None:
    as_json(post(client, keys))
    as_json(post(client, keys))
    broken, good = Submission.objects.order_by("pk")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE requests_submission SET payload = %s WHERE id = %s", ["v1:not-a-ciphertext", broken.pk])
    assert queue.submissions_file() == {"filed": 1, "refused": 0, "retry": 1}
    assert Submission.objects.get(pk=good.pk).state == Submission.State.FILED
    assert Submission.objects.defer("payload").get(pk=broken.pk).state == Submission.State.QUEUED


def test_the_place_copy_survives_a_clear_from_another_thread(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    from linli.requests.open311 import names

    real = names.Place.objects.filter

    def filter_while_another_thread_clears(*args: Any, **kwargs: Any) -> Any:
        names.places_by_code.clear()
        return real(*args, **kwargs)

    monkeypatch.setattr(names.Place.objects, "filter", filter_while_another_thread_clears)
    assert names.places_by_code.get("h1") == tree.household
    assert names.places_by_code.get("no-such-code") is None
    assert "no-such-code" not in names.places_by_code.values  # a miss is not kept


def test_the_post_runs_a_fixed_number_of_queries(client: Client, keys: Keys) -> None:
    post(client, keys, address_id="h1")
    with CaptureQueriesContext(connection) as queries:
        assert post(client, keys, address_id="h1").status_code == 200
    # The insert alone: the key, the category and the place were read by the first call
    # and are kept briefly in the process (no request, event, rollup or notice yet).
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"], queries.captured_queries


def test_a_place_closed_in_this_process_is_refused_at_once(client: Client, keys: Keys, tree: Tree) -> None:
    from linli.places.services import place_deactivate

    assert post(client, keys, address_id="h1").status_code == 200
    place_deactivate(place=tree.household)
    response = post(client, keys, address_id="h1")
    assert response.status_code == 400 and "address_id" in as_json(response)[0]["description"]
    assert post(client, keys, address_id="h" * 500).status_code == 400


def test_forged_queued_tokens_are_404(client: Client, keys: Keys) -> None:
    (answer,) = as_json(post(client, keys))
    forged = "q99" + answer["token"][answer["token"].index(":"):]
    assert client.get(f"{BASE}/tokens/{forged}.json").status_code == 404


def test_the_worker_polls_the_queue() -> None:
    (registered,) = [p for p in jobs.registered_pollers() if p.name == "requests.open311_queue"]
    assert registered.every <= 1
    called = threading.Event()
    thread = PollerThread(jobs.Poller(name="t", every=0.01, poll=called.set))
    thread.start()
    assert called.wait(5)
    thread.stop()
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_two_workers_file_each_submission_once(keys: Keys) -> None:
    """Two workers draining at once (threads with their own connections on PostgreSQL
    or a SQLite file; one after the other on in-memory SQLite) file every submission
    exactly once."""
    from linli.accounts.models import ApiKey
    from linli.places.models import Place
    from linli.requests.catalogue import categories_install

    categories_install()  # a transactional test may follow one that emptied the tables
    key = ApiKey.objects.get(name="樱花园 App")
    place = Place.objects.get(code="h1")
    category = Category.objects.get(code="repairs")
    for i in range(40):
        queue.submission_queue(key=key, category=category, place=place, title=f"灯 {i}", description="楼道灯不亮",
                               attributes={"facility": "light"}, at=timezone.now())
    results: list[dict[str, int]] = []
    parallel = not (connection.vendor == "sqlite" and connection.is_in_memory_db())

    def drain() -> None:
        try:
            results.append(queue.submissions_file(batch=5))
        finally:
            if parallel:
                connection.close()

    if parallel:
        threads = [threading.Thread(target=drain) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    else:
        drain()
        drain()
    assert sum(r["filed"] for r in results) == 40
    assert Request.objects.count() == 40
    assert Submission.objects.filter(state=Submission.State.FILED).values("request").distinct().count() == 40


def test_healthz_reports_the_queue_without_failing_for_a_backlog(client: Client, keys: Keys) -> None:
    from datetime import timedelta

    from linli.core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.create(worker_id="w", beat_at=timezone.now())
    body = client.get("/healthz").json()
    assert body["open311_queue"] == {"status": "ok", "queued": 0, "oldest_seconds": 0.0}
    as_json(post(client, keys))
    as_json(post(client, keys))
    body = client.get("/healthz").json()
    assert body["open311_queue"]["status"] == "ok" and body["open311_queue"]["queued"] == 2
    Submission.objects.update(received_at=timezone.now() - queue.BEHIND_AFTER - timedelta(seconds=5))
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"  # informs, never a 503
    part = response.json()["open311_queue"]
    assert part["status"] == "behind" and part["queued"] == 2 and part["oldest_seconds"] > 600
    queue.submissions_file()
    assert client.get("/healthz").json()["open311_queue"]["queued"] == 0
