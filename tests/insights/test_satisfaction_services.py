# ruff: noqa: F811 - pytest fixtures are imported by name and taken as arguments
"""Satisfaction runs through the services: from a survey's stored responses and from an
uploaded file to the stored result, in the worker or at once; every number checked
against an independent reference (the generated answers themselves, R's plspm output,
numpy on the ratings); bad data ends as the engine's message in words."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache

from linli.insights import pls
from linli.insights.models import RunSource, RunStatus, SatisfactionRun
from linli.insights.satisfaction import (
    default_upload_model,
    read_upload,
    satisfaction_run_compute,
    satisfaction_run_for_survey,
    satisfaction_run_for_upload,
    satisfaction_runs_for_demo,
    survey_data,
)
from linli.insights.satisfaction_dashboard import ratings_stream, rounds_of, run_view
from linli.requests import services as request_services
from linli.requests.catalogue import categories_install
from linli.requests.models import Category, Rating
from linli.surveys.analysis import response_table
from tests.conftest import Personas, Tree
from tests.insights.conftest import TODAY, Cases, at, cases, rates_clock  # noqa: F401 - fixtures
from tests.insights.pls.reference import DATA, SATISFACTION_BLOCKS, SATISFACTION_PATHS, read_r
from tests.insights.satisfaction_fixtures import (
    answer,
    new_survey,
    register,
    sat1_optional,
    shifted,
    survey_answered,
)
from tests.requests.conftest import repairs, submit  # noqa: F401 - fixtures
from tests.surveys.synthetic import draw_answers

N = 95  # a little more than the 90 rows the community model needs


def _compute(run: SatisfactionRun) -> SatisfactionRun:
    return satisfaction_run_compute(run=run)


def _reference_fit(values: np.ndarray, model: pls.PathModel) -> pls.PlsResult:
    return pls.fit(model, pls.Table(columns=model.items, values=values))


def _acsi(result: pls.PlsResult, values: np.ndarray, block: pls.Block, rows: np.ndarray | None = None) -> float:
    """DOMAIN §7 by hand: standardised weights over the items' sd, normalised, on the means."""
    columns = [result.model.items.index(item) for item in block.items]
    data = values[:, columns]
    w = np.array([result.weights[item] for item in block.items]) / data.std(axis=0)
    w = w / w.sum()
    chosen = data if rows is None else data[rows]
    return float(100 * np.sum(w * (chosen.mean(axis=0) - 1) / 9))


# From a survey -------------------------------------------------------------------------------

def test_a_survey_run_reproduces_the_answers_as_generated(tree: Tree, personas: Personas) -> None:
    answered = survey_answered(tree, personas, N, seed=31)
    run = satisfaction_run_for_survey(questionnaire=answered.questionnaire, by=personas.staff, bootstrap=200,
                                      seed=4, queue=False)
    assert run.status == RunStatus.QUEUED and run.source == RunSource.SURVEY and run.place == tree.community
    run = _compute(run)
    assert run.status == RunStatus.DONE and run.error == ""
    assert run.inputs == {"responses": N, "complete": N, "incomplete": 0}
    # The same model fitted on the answers as they were generated (no storage, no extraction).
    data = survey_data(answered.questionnaire)
    reference = _reference_fit(answered.sample.values, data.model)
    assert run.summary["fitted"] and run.summary["n"] == N
    for block in data.model.blocks:
        assert run.summary["index"][block.name][0] == pytest.approx(_acsi(reference, answered.sample.values, block),
                                                                  abs=1e-8)
    assert run.result is not None
    for (source, target), value in reference.paths.items():
        assert run.result["paths"][f"{source}->{target}"] == pytest.approx(value, abs=1e-8)
    # The breakdowns: each grid's and each group's rows are the generated rows of its residents.
    analysis = run.analysis or {}
    sat = data.model.block("SAT")
    for row in analysis["breakdowns"]["grid"]:
        mask = np.array([g == int(row["key"]) for g in answered.grids])
        assert row["n"] == int(mask.sum())
        if row["enough"]:
            assert row["target"]["value"] == pytest.approx(_acsi(reference, answered.sample.values, sat, mask),
                                                         abs=1e-8)
    assert sum(row["n"] for row in analysis["breakdowns"]["grid"]) == N
    groups = {row["label"]: row for row in analysis["breakdowns"]["group"]}
    for label in set(answered.groups):
        mask = np.array([g == label for g in answered.groups])
        assert groups[label]["n"] == int(mask.sum())
        assert groups[label]["target"]["value"] == pytest.approx(
            _acsi(reference, answered.sample.values, sat, mask), abs=1e-8)
    # The labels and question texts are the questionnaire's.
    blocks = {b["name"]: b for b in analysis["blocks"]}
    assert blocks["RESP"]["label"] == "诉求办理" and blocks["RESP"]["mechanism"] == "requests"
    assert blocks["RESP"]["items"][1]["text"] == "反映的问题得到了实际解决"


def test_survey_rows_are_the_rows_the_surveys_app_extracts(tree: Tree, personas: Personas) -> None:
    register(tree, 12)
    questionnaire = new_survey(tree, personas)
    sat1_optional(questionnaire, personas)
    answer(questionnaire, personas, draw_answers(12, 3), skip={2, 7})
    data = survey_data(questionnaire)
    expected = response_table(questionnaire, items=data.model.items)
    assert data.values.shape == (10, 36) and data.responses == 12
    assert np.array_equal(data.values, expected.values)
    run = _compute(satisfaction_run_for_survey(questionnaire=questionnaire, by=personas.staff, queue=False))
    assert run.inputs == {"responses": 12, "complete": 10, "incomplete": 2}
    assert run.summary["n"] == 10 and not run.summary["fitted"]


def test_three_answers_give_the_means_and_say_how_many_are_needed(tree: Tree, personas: Personas) -> None:
    answered = survey_answered(tree, personas, 3, seed=5)
    run = _compute(satisfaction_run_for_survey(questionnaire=answered.questionnaire, by=personas.staff, queue=False))
    assert run.status == RunStatus.DONE and run.result is None
    analysis = run.analysis or {}
    assert analysis["fitted"] is False and analysis["min_rows"] == 90 and analysis["n"] == 3
    for position, item in enumerate(answered.sample.items):
        if item.endswith("1"):
            block = item[:-1]
            columns = [answered.sample.items.index(f"{block}{i}") for i in (1, 2, 3)]
            expected = float(((answered.sample.values[:, columns] - 1) / 9 * 100).mean())
            assert run.summary["index"][block][0] == pytest.approx(expected, abs=1e-9), position


def test_the_worker_computes_a_queued_run_once(tree: Tree, personas: Personas,
                                               django_capture_on_commit_callbacks: Any) -> None:
    answered = survey_answered(tree, personas, 4, seed=6)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = satisfaction_run_for_survey(questionnaire=answered.questionnaire, by=personas.staff)
    assert len(callbacks) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.finished_at is not None
    finished = run.finished_at
    # Taken once: computing it again leaves it as it is.
    again = _compute(run)
    assert again.finished_at == finished


def test_a_questionnaire_without_a_model_is_refused_at_once(tree: Tree, personas: Personas) -> None:
    from linli.surveys import services as svc
    from linli.surveys.models import Template

    needs = svc.questionnaire_from_template(template=Template.NEEDS, place=tree.community, by=personas.staff)
    with pytest.raises(pls.PlsError) as caught:
        satisfaction_run_for_survey(questionnaire=needs, by=personas.staff, queue=False)
    assert "SAT" in caught.value.message
    assert not SatisfactionRun.objects.exists()
    with pytest.raises(pls.PlsError):
        satisfaction_run_for_survey(questionnaire=needs, by=personas.staff, bootstrap=5, queue=False)


def test_an_unexpected_failure_ends_the_run_with_a_plain_message(tree: Tree, personas: Personas,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    answered = survey_answered(tree, personas, 2, seed=7)
    run = satisfaction_run_for_survey(questionnaire=answered.questionnaire, by=personas.staff, queue=False)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("linli.insights.satisfaction.analyse", broken)
    run = _compute(run)
    assert run.status == RunStatus.FAILED and "意外错误" in run.error and "disk" not in run.error
    assert "disk on fire" in caplog.text


def test_demo_runs_are_computed_at_once_and_repeatable(tree: Tree, personas: Personas) -> None:
    first = survey_answered(tree, personas, 3, seed=8, tag="A", title="2026 年第一季度测评")
    second = survey_answered(tree, personas, 3, seed=9, tag="B", title="2026 年第二季度测评")
    runs = satisfaction_runs_for_demo(questionnaires=[first.questionnaire, second.questionnaire], bootstrap=50,
                                      seed=12)
    assert [run.status for run in runs] == [RunStatus.DONE, RunStatus.DONE]
    again = satisfaction_runs_for_demo(questionnaires=[first.questionnaire, second.questionnaire], bootstrap=50,
                                       seed=12)
    assert [r.summary for r in again] == [r.summary for r in runs]
    assert SatisfactionRun.objects.count() == 4


# From an upload --------------------------------------------------------------------------------

def _model_json(**settings: Any) -> str:
    return json.dumps({"blocks": {name: {"items": items} for name, items in SATISFACTION_BLOCKS.items()},
                       "paths": [list(p) for p in SATISFACTION_PATHS], "scaled": False, "scale": [0, 10],
                       **settings})


def _r_csv() -> bytes:
    return (DATA / "satisfaction.csv").read_bytes()


def test_an_uploaded_file_and_model_reproduce_r(tree: Tree, personas: Personas,
                                                django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = satisfaction_run_for_upload(place=tree.community, by=personas.staff, name="satisfaction.csv",
                                          data=_r_csv(), model_text=_model_json(), bootstrap=100, seed=3,
                                          period_date=date(2026, 3, 31))
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    assert run.source == RunSource.UPLOAD and run.model_given and run.period_date == date(2026, 3, 31)
    assert run.inputs["rows"] == 250 and run.upload is None  # the answers are not kept
    assert run.result is not None
    with (DATA / "r_plspm" / "satisfaction.effects.csv").open(newline="") as stream:
        for row in csv.DictReader(stream):
            got = run.result["total_effects"][f"{row['from']}->{row['to']}"]["total"]
            assert got == pytest.approx(float(row["total"]), abs=1e-8)
    summary = read_r("satisfaction.inner-summary.csv")
    assert run.result["r2"]["SAT"] == pytest.approx(float(summary["SAT"]["r_squared"]), abs=1e-8)
    improve = [item["name"] for item in (run.analysis or {})["improve"]]
    assert improve and set(improve) <= {"IMAG", "EXPE", "QUAL", "VAL"}


def test_the_default_model_follows_the_columns_of_the_file(tree: Tree, personas: Personas) -> None:
    sample = draw_answers(40, 2)
    keep = [i for i, item in enumerate(sample.items) if item[:-1] in ("COMM", "RESP", "SAT", "TRUST")]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["编号", *[sample.items[i] for i in keep]])
    for n, row in enumerate(sample.values[:, keep]):
        writer.writerow([n + 1, *[int(v) for v in row]])
    upload = read_upload(name="answers.csv", data=out.getvalue().encode("utf-8"), model_text="")
    assert upload.model.lv_names == ("COMM", "RESP", "SAT", "TRUST")
    assert set(upload.model.paths) == {("COMM", "SAT"), ("RESP", "SAT"), ("SAT", "TRUST")}
    assert np.array_equal(upload.table.values, sample.values[:, keep])
    with pytest.raises(pls.PlsError) as caught:
        default_upload_model(["COMM1", "COMM2", "COMM3"])
    assert "SAT1" in caught.value.message


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize(("data", "model", "words"), [
    (_csv([["SAT1", "SAT2"], [1, 2]]), "", "SAT3"),
    (_csv([["imag1"], ["x"]]), _model_json(), "imag2"),
    (b"", "", "空"),
    (_csv([["COMM1", "COMM2", "COMM3", "SAT1", "SAT2", "SAT3"], [1, 2, 3, 4, 5, 6], [1, "", 3, 4, 5, 6]]), "",
     "第 3 行"),
    (_csv([["COMM1", "COMM2", "COMM3", "SAT1", "SAT2", "SAT3"], [1, 2, 3, 4, 5, "七"]]), "", "“七”不是数字"),
    (_csv([["COMM1", "COMM2", "COMM3", "SAT1", "SAT2", "SAT3"], [1, 2, 3, 4, 5, 11]]), "", "超出量表"),
    (_csv([["a"], [1]]), "{not json", "JSON"),
    (_csv([["a"], [1]]), json.dumps({"blocks": {"A": {"items": ["a"]}}, "paths": [["A", "B"]]}), "B"),
])
def test_bad_uploads_are_refused_in_words(tree: Tree, personas: Personas, data: bytes, model: str,
                                          words: str) -> None:
    with pytest.raises(pls.PlsError) as caught:
        satisfaction_run_for_upload(place=tree.community, by=personas.staff, name="answers.csv", data=data,
                                    model_text=model)
    assert words in caught.value.message
    assert not SatisfactionRun.objects.exists()


def test_a_model_that_does_not_converge_ends_the_run_with_the_engines_message(
        tree: Tree, personas: Personas, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = satisfaction_run_for_upload(place=tree.community, by=personas.staff, name="satisfaction.csv",
                                          data=_r_csv(), model_text=_model_json(max_iter=1, tol=1e-12), bootstrap=0)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "未收敛" in run.error
    assert run.result is None and run.upload is None


def test_an_upload_needs_a_community_or_a_street(tree: Tree, personas: Personas) -> None:
    with pytest.raises(pls.PlsError):
        satisfaction_run_for_upload(place=tree.grid, by=personas.staff, name="a.csv", data=_r_csv(),
                                    model_text=_model_json())


# Rounds, the previous round and what lies behind each thing to improve -------------------------------------

def test_rounds_and_the_change_since_the_previous_round(tree: Tree, personas: Personas) -> None:
    first = survey_answered(tree, personas, N, seed=41, tag="A", title="第一轮")
    runs = satisfaction_runs_for_demo(questionnaires=[first.questionnaire], bootstrap=50, seed=1)
    register(tree, N, tag="B")
    second_q = new_survey(tree, personas, title="第二轮")
    second_sample = shifted(draw_answers(N, 42), {"RESP": 1.0})
    answer(second_q, personas, second_sample)
    SatisfactionRun.objects.filter(pk=runs[0].pk).update(period_date=date(2026, 1, 1))
    later = satisfaction_runs_for_demo(questionnaires=[second_q], bootstrap=50, seed=2)[0]
    rounds = rounds_of(tree.community)
    assert [p.title for p in rounds] == ["第一轮", "第二轮"]
    view = run_view(SatisfactionRun.objects.select_related("place", "questionnaire").get(pk=later.pk))
    assert view.previous is not None and view.previous.run_id == runs[0].pk
    resp = next(b for b in view.blocks if b.name == "RESP")
    before = SatisfactionRun.objects.get(pk=runs[0].pk).summary["index"]["RESP"][0]
    assert resp.previous == pytest.approx(before)
    assert resp.change == pytest.approx(later.summary["index"]["RESP"][0] - before)
    # A newer run of the same questionnaire replaces it in the trend.
    redo = satisfaction_runs_for_demo(questionnaires=[second_q], bootstrap=50, seed=3)[0]
    assert [p.run_id for p in rounds_of(tree.community)] == [runs[0].pk, redo.pk]


def test_what_to_improve_links_requests_and_comments(tree: Tree, personas: Personas, submit: Any) -> None:
    categories_install()
    register(tree, N)
    questionnaire = new_survey(tree, personas)
    sample = shifted(draw_answers(N, 20260315), {"RESP": -2.0})
    texts = {0: "反映的问题处理太慢，没有人回复。", 1: "小区绿化很好。", 2: "希望多办活动。"}
    answer(questionnaire, personas, sample, texts=texts)
    # Requests: two open ones, and one closed with a "not satisfied" rating.
    sanitation = Category.objects.get(code="sanitation")
    submit(title="垃圾没人清运", category=sanitation, attributes={})
    submit(title="楼道灯坏了")
    rated = request_services.request_accept(request=submit(title="电梯坏了"), by=personas.staff)
    rated = request_services.request_resolve(request=rated, by=personas.staff, resolution="已修好")
    request_services.request_rate(request=rated, by=personas.resident, rating=Rating.DISSATISFIED, solved=False)
    run = satisfaction_runs_for_demo(questionnaires=[questionnaire], bootstrap=50, seed=5)[0]
    view = run_view(SatisfactionRun.objects.select_related("place", "questionnaire").get(pk=run.pk))
    first = view.improvements[0]
    assert first.block.name == "RESP"
    # RESP is about handling requests of every kind: all open requests, all low ratings.
    assert first.open_requests == 2 and first.low_ratings == 1 and first.all_requests_url == "/requests/queue/"
    # The comment that speaks of handling requests first, then those of residents who rated
    # the handling in the bottom third of the scale.
    resp_scores = sample.values[:, [sample.items.index(f"RESP{i}") for i in (1, 2, 3)]]
    low_writers = [texts[row].rstrip("。") for row in (1, 2) if ((resp_scores[row].mean() - 1) / 9 * 100) <= 100 / 3]
    assert (first.comments[0].text, first.comments[0].spoken) == ("反映的问题处理太慢，没有人回复", True)
    assert sorted((c.text, c.spoken) for c in first.comments[1:]) == sorted((text, False) for text in low_writers)
    assert first.comments_total == 1 + len(low_writers)
    assert first.texts_url == f"/surveys/{questionnaire.pk}/texts/"


# The continuous stream of return-visit ratings ------------------------------------------------------------

@pytest.mark.usefixtures("rates_clock")
def test_the_monthly_stream_of_return_visit_ratings(tree: Tree, personas: Personas, cases: Cases) -> None:
    categories_install()
    dispute = Category.objects.get(code="dispute")
    plan = {10: [Rating.VERY_SATISFIED, Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.DISSATISFIED],
            11: [Rating.SATISFIED, Rating.SATISFIED, Rating.VERY_DISSATISFIED]}
    for month, ratings in plan.items():
        for day, rating in enumerate(ratings, start=2):
            cases.handle(start=at(2026, month, day + 3, 9, 0), rating=rating)
    # Mediation cases are left out of the satisfaction figures, as in the three rates.
    cases.handle(start=at(2026, 11, 16, 9, 0), category=dispute, rating=Rating.VERY_SATISFIED, attributes={})
    cases.handle(start=at(2026, 11, 17, 9, 0), place=tree.far_household, rating=Rating.VERY_SATISFIED)
    cache.clear()
    stream = ratings_stream(tree.community, today=TODAY.date())
    assert len(stream) == 12 and stream[-1].month == date(2026, 12, 1) and stream[0].month == date(2026, 1, 1)
    by_month = {p.month.month: p for p in stream}
    for month, ratings in plan.items():
        point = by_month[month]
        values = np.array([int(r) for r in ratings], dtype=float)
        assert point.rated == len(values)
        assert point.counts == {v: int((values == v).sum()) for v in (5, 4, 3, 2, 1)}
        assert point.index == pytest.approx((values.mean() - 1) / 4 * 100)
        half = 1.959963984540054 * values.std(ddof=1) / np.sqrt(len(values))
        low, high = point.interval
        assert low == pytest.approx(max(0.0, (values.mean() - half - 1) / 4 * 100))
        assert high == pytest.approx(min(100.0, (values.mean() + half - 1) / 4 * 100))
        satisfied = (values >= 4).sum() + 0.9 * (values == 3).sum()
        assert point.rate == pytest.approx(satisfied / len(values))
    assert by_month[9].rated == 0 and by_month[9].index is None and by_month[9].interval == (None, None)
    # The street sees both communities.
    street = {p.month.month: p for p in ratings_stream(tree.street, today=TODAY.date())}
    assert street[11].rated == len(plan[11]) + 1
    assert (TODAY.date() - timedelta(days=1)).month == 12
