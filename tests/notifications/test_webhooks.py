"""Webhooks against a real HTTP server on 127.0.0.1 that records what it is sent: the
WeCom group robot's message format, a generic JSON endpoint, and every way a post can
fail, which is recorded in ``last_status`` and never raised."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings

from linli.audit.models import AuditEvent
from linli.notifications import tasks
from linli.notifications.models import Webhook, WebhookKind
from linli.notifications.services import webhook_create, webhook_update, webhooks_announce
from linli.notifications.tasks import post_webhook, webhook_payload
from linli.requests.services import request_accept, request_resolve
from tests.conftest import Personas, Tree
from tests.requests.conftest import Submit

pytestmark = pytest.mark.django_db
WECOM_OK = (200, {"errcode": 0, "errmsg": "ok"})


@dataclass
class Endpoint:
    """What the server answers, and what it received."""

    base: str
    received: list[dict[str, Any]] = field(default_factory=list)
    answer: tuple[int, Any] = WECOM_OK
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def url(self, path: str = "/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa") -> str:
        return self.base + path


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            state.received.append({"path": self.path, "content_type": self.headers.get("Content-Type", ""),
                                   "raw": raw, "json": json.loads(raw.decode("utf-8"))})
            if state.delay:
                time.sleep(state.delay)
            status, body = state.answer
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            try:
                self.send_response(status)
                for name, value in state.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def hook(tree: Tree, url: str, kind: str = WebhookKind.WECOM, **extra: Any) -> Webhook:
    return webhook_create(place=extra.pop("place", tree.community), name="社区工作群", kind=kind, url=url, **extra)


def test_wecom_text_message(endpoint: Endpoint, tree: Tree) -> None:
    robot = hook(tree, endpoint.url())
    status = post_webhook.call(webhook_id=robot.pk, text="#12 楼道灯坏了：已办结")
    assert status.startswith("ok")
    (got,) = endpoint.received
    assert got["path"] == "/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    assert got["content_type"] == "application/json; charset=utf-8"
    assert got["json"] == {"msgtype": "text", "text": {"content": "#12 楼道灯坏了：已办结"}}
    robot.refresh_from_db()
    assert robot.last_status.startswith("ok") and robot.last_sent_at is not None


@override_settings(SITE_URL="https://linli.example.cn")
def test_wecom_markdown_with_a_link_when_the_site_address_is_known(endpoint: Endpoint, tree: Tree) -> None:
    robot = hook(tree, endpoint.url())
    post_webhook.call(webhook_id=robot.pk, text="#12 楼道灯坏了：已办结", url="/requests/12/")
    assert endpoint.received[0]["json"] == {
        "msgtype": "markdown",
        "markdown": {"content": "#12 楼道灯坏了：已办结\n[查看详情](https://linli.example.cn/requests/12/)"},
    }


def test_wecom_limits_are_counted_in_bytes_and_mentions_are_defused() -> None:
    text = "<@all> " + "灯" * 3000  # 3 bytes each
    content = webhook_payload(WebhookKind.WECOM, text)["text"]["content"]  # type: ignore[index]
    assert len(content.encode("utf-8")) <= tasks.WECOM_TEXT_BYTES and content.endswith("…")
    assert "<@" not in content
    with override_settings(SITE_URL="https://x.cn"):
        markdown = webhook_payload(WebhookKind.WECOM, text, "/requests/1/")["markdown"]["content"]  # type: ignore[index]
    assert len(markdown.encode("utf-8")) <= tasks.WECOM_MARKDOWN_BYTES and markdown.endswith("(https://x.cn/requests/1/)")


def test_wecom_error_code_in_a_200_answer_is_a_failure(endpoint: Endpoint, tree: Tree) -> None:
    endpoint.answer = (200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    robot = hook(tree, endpoint.url())
    assert post_webhook.call(webhook_id=robot.pk, text="x").startswith("error")
    robot.refresh_from_db()
    assert robot.last_status == "error: errcode 93000 invalid webhook url"


def test_generic_json_webhook(endpoint: Endpoint, tree: Tree) -> None:
    endpoint.answer = (204, "")
    target = hook(tree, endpoint.url("/hooks/linli"), kind=WebhookKind.JSON)
    assert post_webhook.call(webhook_id=target.pk, text="#3 井盖松动：已受理", url="/requests/3/") == "ok: HTTP 204"
    payload = endpoint.received[0]["json"]
    assert payload["text"] == "#3 井盖松动：已受理" and payload["source"] == "linli"
    assert payload["url"] == ""  # no SITE_URL: no link


@pytest.mark.parametrize(("answer", "expected"), [
    ((500, "boom"), "error: HTTP 500 boom"),
    ((404, {"errcode": 1}), "error: HTTP 404"),
    ((200, "<html>not json</html>"), "error: HTTP 200 <html>"),
])
def test_failures_are_recorded_not_raised(endpoint: Endpoint, tree: Tree, answer: tuple[int, Any],
                                          expected: str) -> None:
    endpoint.answer = answer
    robot = hook(tree, endpoint.url())
    status = post_webhook.call(webhook_id=robot.pk, text="x")
    robot.refresh_from_db()
    assert status.startswith(expected) and robot.last_status.startswith(expected)


def test_a_redirect_is_not_followed(endpoint: Endpoint, tree: Tree) -> None:
    endpoint.answer = (302, "")
    endpoint.headers = {"Location": endpoint.url("/elsewhere")}
    robot = hook(tree, endpoint.url())
    assert post_webhook.call(webhook_id=robot.pk, text="x").startswith("error: HTTP 302")
    assert [r["path"] for r in endpoint.received] == ["/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"]


def test_nobody_listening_or_too_slow(endpoint: Endpoint, tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = hook(tree, "http://127.0.0.1:9/cgi-bin/webhook/send?key=k")  # the discard port: nobody there
    assert post_webhook.call(webhook_id=closed.pk, text="x").startswith("error")
    closed.refresh_from_db()
    assert closed.last_status.startswith("error")
    monkeypatch.setattr(tasks, "WEBHOOK_TIMEOUT_SECONDS", 0.2)
    endpoint.delay = 1.0
    slow = hook(tree, endpoint.url(), place=tree.other_community)
    status = post_webhook.call(webhook_id=slow.pk, text="x")
    assert status.startswith("error") and "timed out" in status


def test_an_address_that_is_not_http_is_refused_without_a_request(tree: Tree) -> None:
    robot = hook(tree, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    Webhook.objects.filter(pk=robot.pk).update(url="file:///etc/passwd")  # as if stored before the checks
    assert post_webhook.call(webhook_id=robot.pk, text="x") == "refused: not an http(s) address"
    Webhook.objects.filter(pk=robot.pk).update(is_active=False)
    assert post_webhook.call(webhook_id=robot.pk, text="x") == "inactive"


def test_lifecycle_events_reach_the_group_of_their_place_only(endpoint: Endpoint, tree: Tree, personas: Personas,
                                                              submit: Submit,
                                                              django_capture_on_commit_callbacks: Any) -> None:
    hook(tree, endpoint.url("/mine?key=a"))
    hook(tree, endpoint.url("/street?key=b"), place=tree.street)
    hook(tree, endpoint.url("/far?key=c"), place=tree.other_community)
    req = submit()
    req = request_accept(request=req, by=personas.staff)
    endpoint.received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request_resolve(request=req, by=personas.staff, resolution="已更换灯泡")
    assert sorted(r["path"] for r in endpoint.received) == ["/mine?key=a", "/street?key=b"]
    assert all(f"#{req.pk}" in r["json"]["text"]["content"] for r in endpoint.received)


def test_a_failing_webhook_never_breaks_the_transition(tree: Tree, personas: Personas, submit: Submit,
                                                       django_capture_on_commit_callbacks: Any) -> None:
    robot = hook(tree, "http://127.0.0.1:9/cgi-bin/webhook/send?key=k")
    req = request_accept(request=submit(), by=personas.staff)
    with django_capture_on_commit_callbacks(execute=True):
        req = request_resolve(request=req, by=personas.staff, resolution="已处理")
    assert req.status == "resolved"
    robot.refresh_from_db()
    assert robot.last_status.startswith("error")


def test_announce_counts_only_active_hooks_covering_the_place(tree: Tree) -> None:
    hook(tree, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a")
    hook(tree, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=b", is_active=False)
    hook(tree, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=c", place=tree.other_community)
    assert webhooks_announce(place_path=tree.household.path, text="x") == 1


# The services: the address is checked, sealed, and never written to the audit log --------

def test_webhook_services_check_and_audit_without_the_key(tree: Tree, personas: Personas) -> None:
    from django.core.exceptions import ValidationError

    key_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-robot-key-1234"
    for bad in ("", "ftp://x/y", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "https:// spaced", "x" * 600,
                "http://127.0.0.1:99999/x"):
        with pytest.raises(ValidationError):
            webhook_create(place=tree.community, name="群", kind=WebhookKind.WECOM, url=bad)
    robot = webhook_create(place=tree.community, name="群", kind=WebhookKind.WECOM, url=key_url, by=personas.lead)
    assert Webhook.objects.get(pk=robot.pk).url == key_url
    webhook_update(webhook=robot, by=personas.lead, name="工作群", url="")
    assert Webhook.objects.get(pk=robot.pk).url == key_url  # blank keeps the address
    webhook_update(webhook=robot, by=personas.lead, url=key_url.replace("1234", "5678"))
    events = AuditEvent.objects.filter(action__startswith="notifications.webhook").order_by("seq")
    assert [e.action for e in events] == ["notifications.webhook_create", "notifications.webhook_update",
                                          "notifications.webhook_update"]
    assert events[2].after["url_changed"] is True
    for event in events:
        assert "secret-robot-key" not in json.dumps([event.before, event.after], ensure_ascii=False)
    assert events[0].after["url"] == "https://qyapi.weixin.qq.com/…1234"


def test_a_queue_that_refuses_the_post_never_breaks_the_transition(tree: Tree, personas: Personas, submit: Submit,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   django_capture_on_commit_callbacks: Any) -> None:
    hook(tree, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")

    class Refusing:
        def enqueue(self, **kwargs: Any) -> None:
            raise RuntimeError("queue unavailable")

    monkeypatch.setattr(tasks, "post_webhook", Refusing())
    req = request_accept(request=submit(), by=personas.staff)
    with django_capture_on_commit_callbacks(execute=True):
        req = request_resolve(request=req, by=personas.staff, resolution="已处理")
    assert req.status == "resolved"
