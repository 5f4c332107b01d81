"""Fixtures for the Open311 tests: API keys at several places, and a client that reads
both formats (JSON as data, XML as an element tree)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: S405 - parses our own answers in tests
from dataclasses import dataclass
from typing import Any

import pytest

from linli.accounts.models import Role
from linli.accounts.services import apikey_create
from linli.requests.open311 import names
from tests.conftest import Tree

BASE = "/open311/v2"


@dataclass
class Keys:
    community: str  # staff at tree.community
    other: str  # staff at tree.other_community
    street: str  # staff at tree.street
    auditor: str  # read-only, at tree.community
    partner: str  # a partner's key at tree.community
    grid: str  # grid worker at tree.grid


@pytest.fixture
def keys(tree: Tree) -> Keys:
    def make(name: str, place: Any, role: str = Role.COMMUNITY_STAFF) -> str:
        return apikey_create(name=name, place=place, role=role)[1]

    return Keys(
        community=make("樱花园 App", tree.community),
        other=make("和平里 App", tree.other_community),
        street=make("街道平台", tree.street),
        auditor=make("监督委员会", tree.community, Role.AUDITOR),
        partner=make("物业系统", tree.community, Role.PARTNER),
        grid=make("网格 App", tree.grid, Role.GRID_WORKER),
    )


def xml(response: Any) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    body = response.content.decode("utf-8")
    assert body.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 - our own output


def as_json(response: Any) -> Any:
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def error_codes(response: Any, fmt: str = "json") -> list[int]:
    """The codes in an error answer, after checking its shape in either format."""
    if fmt == "json":
        data = as_json(response)
        assert isinstance(data, list) and data
        assert all(set(item) == {"code", "description"} and item["description"] for item in data)
        return [item["code"] for item in data]
    root = xml(response)
    assert root.tag == "errors" and len(root)
    assert all(child.tag == "error" and [c.tag for c in child] == ["code", "description"] for child in root)
    return [int(child.findtext("code") or 0) for child in root]


@pytest.fixture(autouse=True)
def fresh_names() -> None:
    """Each test starts without names kept from another test's rows."""
    names.clear_all()
