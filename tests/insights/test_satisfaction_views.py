"""The satisfaction pages over HTTP: who reaches them (404 outside the scope, 403 for
roles without surveys and, for starting a run, for read-only roles), starting runs from
a survey or an upload with the engine's message on the form (and what was typed kept),
the run page while it is computed and when it failed, the exports, and constant query
counts."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from linli.insights.models import RunStatus, SatisfactionRun
from linli.insights.satisfaction import satisfaction_run_compute, satisfaction_run_for_upload
from linli.web.context_processors import ELDER_COOKIE
from tests.conftest import Personas, Tree, login
from tests.insights.pls.reference import DATA, SATISFACTION_BLOCKS, SATISFACTION_PATHS
from tests.insights.satisfaction_fixtures import survey_answered

HTMX = {"HTTP_HX_REQUEST": "true"}
R_MODEL = json.dumps({"blocks": {name: {"items": items} for name, items in SATISFACTION_BLOCKS.items()},
                      "paths": [list(p) for p in SATISFACTION_PATHS], "scaled": False, "scale": [0, 10]})


def _as(user: Any) -> Client:
    return login(Client(), user)


def _small_csv(rows: int = 5) -> bytes:
    header = "COMM1,COMM2,COMM3,SAT1,SAT2,SAT3\n"
    body = "".join(f"{1 + i % 9},{2 + i % 8},{3 + i % 7},{4 + i % 6},{5 + i % 5},{6 + i % 4}\n" for i in range(rows))
    return (header + body).encode()


def _upload_run(tree: Tree, personas: Personas, *, data: bytes | None = None, model: str = "",
                place: Any = None, title: str = "") -> SatisfactionRun:
    run = satisfaction_run_for_upload(place=place or tree.community, by=personas.staff, name="answers.csv",
                                      data=data if data is not None else _small_csv(), model_text=model,
                                      bootstrap=100, seed=1, title=title)
    return satisfaction_run_compute(run=run)


@pytest.fixture
def fitted(tree: Tree, personas: Personas) -> SatisfactionRun:
    """R's satisfaction data, uploaded with its model: a fitted run."""
    return _upload_run(tree, personas, data=(DATA / "satisfaction.csv").read_bytes(), model=R_MODEL,
                       title="银行客户满意度（R 示例数据）")


# The overview -------------------------------------------------------------------------------

def test_overview_who_reaches_it(client: Client, tree: Tree, personas: Personas) -> None:
    url = reverse("insights:satisfaction")
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for user, status in [(personas.staff, 200), (personas.lead, 200), (personas.auditor, 200),
                         (personas.street_supervisor, 200), (personas.outside_staff, 200),
                         (personas.grid_worker, 403), (personas.resident, 403), (personas.partner, 403),
                         (personas.outsider, 403)]:
        assert _as(user).get(url).status_code == status, user
    staff = _as(personas.staff)
    assert staff.get(url, {"place": tree.other_community.pk}).status_code == 404
    assert staff.get(url, {"place": tree.grid.pk}).status_code == 404  # grids are not nodes of this page
    bad = staff.get(url, {"place": "abc"})
    assert bad.status_code == 400 and "樱花园社区" in bad.content.decode()
    assert _as(personas.street_supervisor).get(url, {"place": tree.other_community.pk}).status_code == 200
    assert reverse("insights:satisfaction_new") in staff.get(url).content.decode()
    assert reverse("insights:satisfaction_new") not in _as(personas.auditor).get(url).content.decode()


def _queries(client: Client, url: str, **params: Any) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url, params).status_code == 200
    return len(context.captured_queries)


def test_overview_costs_the_same_queries_for_more_runs(tree: Tree, personas: Personas,
                                                       django_assert_num_queries: Any) -> None:
    _upload_run(tree, personas, title="第一份")
    client = _as(personas.street_supervisor)
    url = reverse("insights:satisfaction")
    client.get(url, {"place": tree.street.pk})
    one = _queries(client, url, place=tree.street.pk)
    for i in range(4):
        _upload_run(tree, personas, title=f"社区第{i}份")
        _upload_run(tree, personas, place=tree.other_community, title=f"和平里第{i}份")
    with django_assert_num_queries(one):
        body = client.get(url, {"place": tree.street.pk}).content.decode()
    assert body.count("和平里第") >= 4 and "下级各地最近一轮" in body


def test_the_overview_shows_the_latest_round_and_the_stream(tree: Tree, personas: Personas,
                                                            fitted: SatisfactionRun) -> None:
    body = _as(personas.lead).get(reverse("insights:satisfaction")).content.decode()
    assert 'data-testid="latest-index"' in body and fitted.title in body
    assert "诉求回访评价（逐月）" in body and 'id="satisfaction-data"' in body
    workbook = _as(personas.lead).get(reverse("insights:satisfaction_overview_export"),
                                      {"place": tree.community.pk})
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames == ["调查轮次趋势", "回访评价逐月"]
    assert book["调查轮次趋势"]["B2"].value == fitted.title
    assert book["调查轮次趋势"]["E2"].value == pytest.approx(round(fitted.summary["index"]["SAT"][0], 1))
    part = _as(personas.lead).get(reverse("insights:satisfaction_overview_export"),
                                  {"place": tree.community.pk, "part": "stream"})
    assert load_workbook(io.BytesIO(part.content)).sheetnames == ["回访评价逐月"]


# Starting a run ---------------------------------------------------------------------------------

def test_the_new_page_is_for_those_who_may_start_runs(personas: Personas) -> None:
    url = reverse("insights:satisfaction_new")
    for user, status in [(personas.staff, 200), (personas.lead, 200), (personas.street_supervisor, 200),
                         (personas.auditor, 403), (personas.grid_worker, 403), (personas.resident, 403),
                         (personas.outsider, 403)]:
        assert _as(user).get(url).status_code == status, user


def test_starting_a_run_from_a_survey(tree: Tree, personas: Personas,
                                      django_capture_on_commit_callbacks: Any) -> None:
    answered = survey_answered(tree, personas, 3, seed=2)
    client = _as(personas.staff)
    page = client.get(reverse("insights:satisfaction_new"), {"questionnaire": answered.questionnaire.pk})
    assert f'value="{answered.questionnaire.pk}" selected' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("insights:satisfaction_new"), {
            "source": "survey", "survey-questionnaire": answered.questionnaire.pk, "survey-bootstrap": 200})
    run = SatisfactionRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("insights:satisfaction_run", args=[run.pk])
    assert run.status == RunStatus.DONE and run.created_by == personas.staff and run.bootstrap == 200
    body = client.get(response["Location"]).content.decode()
    assert "答卷还太少，暂不能估计满意度模型" in body and "现有完整答卷 3 份" in body
    assert "下一步改进重点" not in body
    # Someone else's questionnaire cannot be chosen, nor a bootstrap outside the choices.
    other = _as(personas.outside_staff).post(reverse("insights:satisfaction_new"), {
        "source": "survey", "survey-questionnaire": answered.questionnaire.pk, "survey-bootstrap": 200})
    assert other.status_code == 400 and SatisfactionRun.objects.count() == 1
    odd = client.post(reverse("insights:satisfaction_new"), {
        "source": "survey", "survey-questionnaire": answered.questionnaire.pk, "survey-bootstrap": 7})
    assert odd.status_code == 400 and SatisfactionRun.objects.count() == 1
    nothing = client.post(reverse("insights:satisfaction_new"), {})
    assert nothing.status_code == 400 and "请选择一种数据来源" in nothing.content.decode()


def test_a_bad_upload_shows_the_engines_message_and_keeps_what_was_typed(tree: Tree, personas: Personas) -> None:
    client = _as(personas.staff)
    typed_model = json.dumps({"blocks": {"SAT": {"items": ["SAT1", "SAT2"]}}, "paths": [["SAT", "LOY"]]})
    upload = io.BytesIO(_small_csv())
    upload.name = "answers.csv"
    response = client.post(reverse("insights:satisfaction_new"), {
        "source": "upload", "upload-place": tree.community.pk, "upload-title": "入户调查", "upload-model": typed_model,
        "upload-file": upload, "upload-bootstrap": 1000})
    body = response.content.decode()
    assert response.status_code == 400 and "LOY" in body and "未在 blocks 中定义" in body
    assert "入户调查" in body and "&quot;SAT1&quot;" in body  # the title and the model are still there
    bad_cell = io.BytesIO(b"COMM1,COMM2,COMM3,SAT1,SAT2,SAT3\n1,2,3,4,5,6\n1,2,x,4,5,6\n")
    bad_cell.name = "answers.csv"
    response = client.post(reverse("insights:satisfaction_new"), {
        "source": "upload", "upload-place": tree.community.pk, "upload-file": bad_cell, "upload-bootstrap": 1000})
    assert response.status_code == 400 and "第 3 行 COMM3 列的值“x”不是数字" in response.content.decode()
    # A place outside the caller's scope is never offered, so never accepted.
    elsewhere = io.BytesIO(_small_csv())
    elsewhere.name = "answers.csv"
    response = client.post(reverse("insights:satisfaction_new"), {
        "source": "upload", "upload-place": tree.other_community.pk, "upload-file": elsewhere,
        "upload-bootstrap": 1000})
    assert response.status_code == 400
    assert not SatisfactionRun.objects.exists()


def test_a_good_upload_runs_and_shows_the_matrix(tree: Tree, personas: Personas,
                                                 django_capture_on_commit_callbacks: Any) -> None:
    client = _as(personas.lead)
    upload = io.BytesIO((DATA / "satisfaction.csv").read_bytes())
    upload.name = "satisfaction.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("insights:satisfaction_new"), {
            "source": "upload", "upload-place": tree.community.pk, "upload-model": R_MODEL, "upload-file": upload,
            "upload-bootstrap": 200, "upload-seed": 5, "upload-period_date": "2026-06-30"})
    run = SatisfactionRun.objects.get()
    assert response.status_code == 302 and run.status == RunStatus.DONE and run.seed == 5
    body = client.get(response["Location"]).content.decode()
    assert "重要性—表现矩阵" in body and "下一步改进重点" in body and 'data-testid="index-SAT"' in body
    assert f"{run.summary['index']['SAT'][0]:.1f}" in body


# One run ------------------------------------------------------------------------------------------

def test_a_run_outside_the_scope_is_not_found(personas: Personas, fitted: SatisfactionRun) -> None:
    for name in ("insights:satisfaction_run", "insights:satisfaction_print", "insights:satisfaction_export"):
        url = reverse(name, args=[fitted.pk])
        assert _as(personas.outside_staff).get(url).status_code == 404, name
        assert _as(personas.grid_worker).get(url).status_code == 404, name
        assert _as(personas.resident).get(url).status_code == 404, name
        assert _as(personas.auditor).get(url).status_code == 200, name
        assert _as(personas.street_supervisor).get(url).status_code == 200, name
    assert _as(personas.staff).get(reverse("insights:satisfaction_run", args=[fitted.pk + 100])).status_code == 404
    # Only those who may start runs are offered to start one again.
    assert "重新计算" not in _as(personas.auditor).get(reverse("insights:satisfaction_run",
                                                              args=[fitted.pk])).content.decode()


def test_the_run_page_polls_while_computing_and_reloads_when_done(tree: Tree, personas: Personas) -> None:
    run = satisfaction_run_for_upload(place=tree.community, by=personas.staff, name="answers.csv",
                                      data=_small_csv(), bootstrap=100)
    client = _as(personas.staff)
    url = reverse("insights:satisfaction_run", args=[run.pk])
    page = client.get(url).content.decode()
    assert "排队等待计算" in page and 'hx-trigger="every 3s"' in page
    poll = client.get(url, {"poll": "1"}, **HTMX)
    assert poll.status_code == 200 and "排队等待计算" in poll.content.decode()
    assert "<html" not in poll.content.decode() and "HX-Refresh" not in poll
    satisfaction_run_compute(run=run)
    done = client.get(url, {"poll": "1"}, **HTMX)
    assert done["HX-Refresh"] == "true"


def test_a_failed_run_says_why_in_words(tree: Tree, personas: Personas) -> None:
    model = json.loads(R_MODEL) | {"max_iter": 1, "tol": 1e-12}
    run = _upload_run(tree, personas, data=(DATA / "satisfaction.csv").read_bytes(), model=json.dumps(model))
    body = _as(personas.staff).get(reverse("insights:satisfaction_run", args=[run.pk])).content.decode()
    assert "未能计算" in body and "未收敛" in body and "Traceback" not in body
    assert _as(personas.staff).get(reverse("insights:satisfaction_export", args=[run.pk])).status_code == 400
    assert _as(personas.staff).get(reverse("insights:satisfaction_print", args=[run.pk])).status_code == 200


def test_the_export_holds_what_the_page_shows(personas: Personas, fitted: SatisfactionRun) -> None:
    client = _as(personas.auditor)
    response = client.get(reverse("insights:satisfaction_export", args=[fitted.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["概览", "各方面得分", "重要性—表现矩阵", "关键驱动因素", "改进重点", "调查轮次趋势",
                               "回访评价逐月", "分组", "回收率", "题目", "路径系数"]
    analysis = fitted.analysis or {}
    blocks = {b["name"]: b for b in analysis["blocks"]}
    rows = {row[0].value: row for row in book["各方面得分"].iter_rows(min_row=2)}
    for name in ("IMAG", "EXPE", "QUAL", "VAL"):
        assert rows[name][4].value == pytest.approx(round(blocks[name]["index"]["value"], 1))
        assert rows[name][8].value == pytest.approx(round(blocks[name]["importance"]["value"], 3))
    ipa = client.get(reverse("insights:satisfaction_export", args=[fitted.pk]), {"part": "ipa"})
    assert load_workbook(io.BytesIO(ipa.content)).sheetnames == ["重要性—表现矩阵"]
    page = client.get(reverse("insights:satisfaction_run", args=[fitted.pk])).content.decode()
    for name in ("ipa", "drivers", "scores", "gauges"):
        assert f'data-chart="{name}"' in page and f'data-png="chart-{name}"' in page


def test_the_printable_summary(personas: Personas, fitted: SatisfactionRun) -> None:
    body = _as(personas.lead).get(reverse("insights:satisfaction_print", args=[fitted.pk])).content.decode()
    assert "樱花园社区居民满意度分析摘要" in body and "下一步改进重点" in body
    assert f"{fitted.summary['index']['SAT'][0]:.1f}" in body and "satisfaction.css" in body


def test_the_run_page_costs_a_fixed_number_of_queries(tree: Tree, personas: Personas,
                                                      django_assert_max_num_queries: Any) -> None:
    answered = survey_answered(tree, personas, 3, seed=3)
    from linli.insights.satisfaction import satisfaction_runs_for_demo

    run = satisfaction_runs_for_demo(questionnaires=[answered.questionnaire], bootstrap=50)[0]
    client = _as(personas.staff)
    url = reverse("insights:satisfaction_run", args=[run.pk])
    client.get(url)
    with django_assert_max_num_queries(16):
        assert client.get(url).status_code == 200


def test_pages_in_elder_mode(personas: Personas, fitted: SatisfactionRun) -> None:
    client = _as(personas.lead)
    client.cookies[ELDER_COOKIE] = "1"
    for url in (reverse("insights:satisfaction"), reverse("insights:satisfaction_run", args=[fitted.pk]),
                reverse("insights:satisfaction_print", args=[fitted.pk])):
        body = client.get(url).content.decode()
        assert '<html lang="zh-CN" class="elder">' in body, url
