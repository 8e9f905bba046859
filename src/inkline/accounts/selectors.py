"""Account reads shared by the API and the pages.

The two reads every page makes are fixed SQL (`raw()` and a cursor, Django's public API for
SQL): building and compiling the ORM query would cost several times what the database takes
to answer. `tests/test_prepared.py` checks that they give what the ORM gives, on SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import NamedTuple

from django.db import connection

from inkline.accounts.models import BrandVoice, Site
from inkline.accounts.voice import Voice

_SITE_SQL = "SELECT * FROM accounts_site WHERE id = %s AND account_id = %s"
_SITE_NAMES_SQL = "SELECT id, name FROM accounts_site WHERE account_id = %s ORDER BY name, id"


class SiteName(NamedTuple):
    """A site as the site switcher lists it."""

    pk: int
    name: str


def account_site(account_id: int, site_id: int, *, related: tuple[str, ...] = ()) -> Site | None:
    """The account's site `site_id` (None: no such site, or another account's), with the
    one-to-one relations `related` loaded with it."""
    if related:
        qs = Site.objects.for_account(account_id).select_related(*related).filter(pk=site_id)
        found = list(qs[:1])
    else:
        found = list(Site.objects.raw(_SITE_SQL, [site_id, account_id]))
    return found[0] if found else None


def site_names(account_id: int) -> list[SiteName]:
    """The account's sites by name: id and name only."""
    with connection.cursor() as cursor:
        cursor.execute(_SITE_NAMES_SQL, [account_id])
        return [SiteName(pk, name) for pk, name in cursor.fetchall()]


def site_voice(site_id: int) -> Voice:
    """A site's brand voice (no preference at all when it has set none)."""
    row = BrandVoice.objects.filter(site_id=site_id).first()
    return row.as_voice() if row is not None else Voice()
