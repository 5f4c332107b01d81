"""The JSON API's one error shape, shared by every router (``linli.api`` imports the
routers, so they cannot import it from there)."""

from ninja import Schema


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class Error(Schema):
    error: ErrorBody
