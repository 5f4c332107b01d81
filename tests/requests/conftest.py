"""Fixtures for the requests tests: categories from the installed catalogue, a partner
organisation, and ``submit`` to make a request through the intake service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from linli.accounts.models import Organisation, OrganisationKind, User
from linli.requests.catalogue import categories_install
from linli.requests.intake import request_submit
from linli.requests.models import Category, Channel, Request
from tests.conftest import Personas, Tree


@pytest.fixture
def repairs(db: None) -> Category:
    # Transactional tests empty the database, data migrations included: install again.
    categories_install()
    return Category.objects.get(code="repairs")


@pytest.fixture
def suggestion(db: None) -> Category:
    categories_install()
    return Category.objects.get(code="suggestion")


@pytest.fixture
def property_manager(tree: Tree, personas: Personas) -> Organisation:
    org = Organisation.objects.create(name="安居物业", kind=OrganisationKind.PROPERTY_MANAGER, place=tree.community)
    User.objects.filter(pk=personas.partner.pk).update(organisation=org)
    personas.partner.organisation = org
    return org


Submit = Callable[..., Request]


@pytest.fixture
def submit(tree: Tree, personas: Personas, repairs: Category) -> Submit:
    def make(*, by: Any = None, at: datetime | None = None, **fields: Any) -> Request:
        values: dict[str, Any] = {
            "category": repairs, "place": tree.household, "title": "楼道灯坏了", "description": "3号楼2单元5层楼道灯不亮",
            "channel": Channel.WEB, "attributes": {"facility": "light"},
        }
        values.update(fields)
        return request_submit(by=by or personas.resident, at=at, **values)

    return make
