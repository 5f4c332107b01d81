"""The JSON API's one error shape, shared by every router (``linli.api`` imports the
routers, so they cannot import it from there)."""

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

# Far beyond any real list; keeps OFFSET inside a 64-bit integer.
MAX_PAGE = 1_000_000


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class Error(Schema):
    error: ErrorBody


class BoundedPageNumberPagination(PageNumberPagination):
    """ninja's page-number pagination with an upper bound on the page, so an absurd
    ``?page=`` is a 422 instead of an integer overflow in the database."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=1000)
