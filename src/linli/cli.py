"""The `linli` command: the project's manage.py.

`linli genkey secret|field` works before any configuration exists, so an operator
can create the keys that the settings then require.
"""

from __future__ import annotations

import os
import sys


def _genkey(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("secret", "field"):
        print("usage: linli genkey secret|field", file=sys.stderr)
        return 2
    import base64
    import secrets

    if argv[0] == "secret":
        print(secrets.token_urlsafe(64))
    else:
        print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("="))
    return 0


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "genkey":
        sys.exit(_genkey(sys.argv[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        print(f"linli: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
