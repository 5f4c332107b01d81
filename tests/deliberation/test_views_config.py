"""A community's own numbers (议事设置): the committee lead sets the support threshold and
the default progress of each status; new proposals and status changes use them."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.deliberation import services
from linli.deliberation.base import config_for
from linli.deliberation.models import DeliberationConfig
from tests.conftest import Personas, Tree, login
from tests.deliberation.conftest import Neighbourhood

pytestmark = pytest.mark.django_db

VALUES = {"support_threshold": 3, "progress_planned": 0, "progress_in_progress": 30, "progress_done": 100,
          "reminder_hours": 12}


def test_config_save_checks_the_numbers_and_who_sets_them(tree: Tree, personas: Personas) -> None:
    for who in (personas.staff, personas.auditor, personas.outside_staff):
        with pytest.raises(PermissionDenied):
            services.config_save(place=tree.community, by=who, values=VALUES)
    with pytest.raises(ValidationError):
        services.config_save(place=tree.grid, by=personas.lead, values=VALUES)
    with pytest.raises(ValidationError, match="0 到 100"):
        services.config_save(place=tree.community, by=personas.lead, values={**VALUES, "progress_in_progress": 120})
    with pytest.raises(ValidationError, match="计划中"):
        services.config_save(place=tree.community, by=personas.lead, values={**VALUES, "progress_planned": 60})
    with pytest.raises(ValidationError):
        services.config_save(place=tree.community, by=personas.lead, values={**VALUES, "support_threshold": 0})
    services.config_save(place=tree.community, by=personas.lead, values=VALUES)
    services.config_save(place=tree.community, by=personas.lead, values={"support_threshold": 4})  # others kept
    config = config_for(tree.grid)
    assert (config.support_threshold, config.progress_in_progress, config.reminder_hours) == (4, 30, 12)
    assert DeliberationConfig.objects.count() == 1
    assert AuditEvent.objects.filter(action="deliberation.config_save").count() == 2


def test_the_lead_sets_the_numbers_on_the_page_and_they_apply(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    login(client, personas.lead)
    page = client.get(reverse("deliberation:config"))
    assert page.status_code == 200 and 'value="10"' in page.content.decode()  # the built-in default
    response = client.post(reverse("deliberation:config"), {**VALUES, "place": tree.community.pk,
                                                              "progress_planned": 70})
    assert response.status_code == 400 and "计划中 ≤ 进行中" in response.content.decode()
    response = client.post(reverse("deliberation:config"), {**VALUES, "place": tree.community.pk})
    assert response.status_code == 302
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="座椅", body="歇脚")
    assert proposal.support_threshold == 3
    decision = services.decision_record(by=personas.staff, place=tree.community, title="座椅", text="增设")
    action = services.action_create(decision=decision, by=personas.staff, title="采购", due_on=date(2030, 1, 1),
                                    owner_label="居委会")
    services.action_update(action=action, by=personas.staff, status="in_progress")
    action.refresh_from_db()
    assert action.progress == 30


@pytest.mark.parametrize("who", ["staff", "auditor", "grid_worker", "resident", "street_supervisor"])
def test_only_the_committee_lead_sets_the_numbers(client: Client, personas: Personas, who: str) -> None:
    login(client, getattr(personas, who))
    assert client.get(reverse("deliberation:config")).status_code == 403
    assert client.post(reverse("deliberation:config"), VALUES).status_code == 403
