"""Helper run in a subprocess against the database the worker processes use.

    python -m tests.integration.import_probe setup
    python -m tests.integration.import_probe post SITE_ID TOKEN FIRST LINES

`post` uploads a CSV of LINES keywords (`import probe FIRST`, `FIRST + 1`, …) to the import
endpoint through the whole Django stack. Each command prints one JSON document. The
environment (INKLINE_DATA_DIR, DATABASE_URL, CELERY_BROKER_URL) says which database and broker.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def csv_of(first: int, lines: int) -> bytes:
    rows = (f"import probe {n},{n % 9000},{n % 101}\n" for n in range(first, first + lines))
    return ("keyword,volume,difficulty\n" + "".join(rows)).encode()


def setup() -> dict[str, Any]:
    from inkline.automation.sites import account_create, site_create

    account, token = account_create(name="Imports", username="imp", password="pw", credits=0)
    site = site_create(account=account, name="imports")
    return {"site_id": site.pk, "token": token.key}


def post(site_id: int, token: str, first: int, lines: int) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    data = csv_of(first, lines)
    response = Client(HTTP_AUTHORIZATION=f"Token {token}").post(
        f"/api/v1/sites/{site_id}/keywords/import/",
        {"file": SimpleUploadedFile("probe.csv", data, content_type="text/csv")},
    )
    return {"status": response.status_code, "body": response.json(), "bytes": len(data)}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkline.settings")
    import django

    django.setup()
    command, *args = sys.argv[1:]
    if command == "setup":
        out = setup()
    else:
        site_id, token, first, lines = args
        out = post(int(site_id), token, int(first), int(lines))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
