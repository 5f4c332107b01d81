"""The requests fixtures (``submit`` and the categories), for tests that follow a
request's lifecycle into notifications."""

from tests.requests.conftest import property_manager, repairs, submit, suggestion  # noqa: F401
