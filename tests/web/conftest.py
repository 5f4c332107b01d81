from __future__ import annotations

import pytest

from linli.accounts.models import User
from linli.accounts.services import user_create
from tests.conftest import PASSWORD


@pytest.fixture
def superuser(db: None) -> User:
    return user_create(username="root", password=PASSWORD, display_name="管理员", is_superuser=True)
