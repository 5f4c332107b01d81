"""The worker's jobs for insights: computing a satisfaction run (PLS fit, bootstrap,
drivers, breakdowns), which takes seconds, so it never holds up a page."""

from __future__ import annotations

from django.tasks import task

from linli.insights.models import SatisfactionRun


@task()
def compute_satisfaction_run(*, run_id: int) -> str:
    """Safe to run twice: a run is claimed from "queued" once, so a repeated task leaves
    it as it is. Returns the run's status."""
    from linli.insights.satisfaction import satisfaction_run_compute

    run = SatisfactionRun.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    return satisfaction_run_compute(run=run).status
