"""Who reaches a questionnaire.

Community staff, committee leads and street supervisors build, send and close the
questionnaires of the places below their grants, and enter paper answers; auditors read
them and their results (403 on every change). Everyone else gets 404 for a
questionnaire: nothing leaks about its existence. Residents only answer, through their
invitation's token (no sign-in needed) or the list of their own invitations.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from linli.accounts.access import check_path, grant_covering, scope_paths
from linli.places.models import Place
from linli.surveys.models import (
    SURVEY_EDIT_ROLES,
    SURVEY_VIEW_ROLES,
    Dimension,
    Invitation,
    Question,
    Questionnaire,
    QuestionnaireQuerySet,
)
from linli.surveys.services import PLACE_KINDS


def check_questionnaire(principal: Any, questionnaire: Questionnaire, *, write: bool = False) -> None:
    """404 outside scope, 403 where the caller may only read."""
    check_path(principal, questionnaire.place_path, roles=SURVEY_VIEW_ROLES)
    if write and not can_edit(principal, questionnaire):
        raise PermissionDenied


def can_edit(principal: Any, questionnaire: Questionnaire) -> bool:
    return bool([g for g in grant_covering(principal, questionnaire.place_path, roles=SURVEY_EDIT_ROLES)
                 if not g.read_only])


def access_questionnaire(principal: Any, pk: int, *, write: bool = False) -> Questionnaire:
    questionnaire = Questionnaire.objects.select_related("place", "community").filter(pk=pk).first()
    if questionnaire is None:
        raise Http404
    check_questionnaire(principal, questionnaire, write=write)
    return questionnaire


def access_question(principal: Any, pk: int, *, write: bool = False) -> Question:
    question = Question.objects.select_related("questionnaire__place", "dimension").filter(pk=pk).first()
    if question is None:
        raise Http404
    check_questionnaire(principal, question.questionnaire, write=write)
    return question


def access_dimension(principal: Any, pk: int, *, write: bool = False) -> Dimension:
    dimension = Dimension.objects.select_related("questionnaire__place").filter(pk=pk).first()
    if dimension is None:
        raise Http404
    check_questionnaire(principal, dimension.questionnaire, write=write)
    return dimension


def visible_questionnaires(principal: Any) -> QuestionnaireQuerySet:
    return Questionnaire.objects.below_any(scope_paths(principal, roles=SURVEY_VIEW_ROLES))


def require_surveys(principal: Any) -> None:
    """Pages over all questionnaires: 403 for anyone holding no survey role."""
    if not scope_paths(principal, roles=SURVEY_VIEW_ROLES):
        raise PermissionDenied


def creatable_places(principal: Any) -> list[Place]:
    """Communities and streets at or below the nodes where the caller may build questionnaires."""
    paths = scope_paths(principal, roles=SURVEY_EDIT_ROLES, write=True)
    return list(Place.objects.active().below_any(paths).filter(kind__in=PLACE_KINDS).order_by("path"))


def access_creatable_place(principal: Any, pk: Any) -> Place:
    text = str(pk or "").strip()
    place = Place.objects.filter(pk=int(text), kind__in=PLACE_KINDS).first() if text.isdigit() and len(text) < 12 else None
    if place is None:
        raise Http404
    check_path(principal, place.path, write=True, roles=SURVEY_EDIT_ROLES)
    return place


def access_invitation(token: str) -> Invitation:
    """The invitation a link names: the token is the credential, so a wrong one is a 404."""
    if not token or len(token) > 64:
        raise Http404
    invitation = Invitation.objects.select_related("questionnaire__place", "resident").filter(token=token).first()
    if invitation is None:
        raise Http404
    return invitation
