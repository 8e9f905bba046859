"""Account reads shared by the API and the pages."""

from __future__ import annotations

import functools

from inkline.accounts.models import Site
from inkline.core.prepared import PreparedRead


@functools.cache
def _site_read(related: tuple[str, ...]) -> PreparedRead[Site]:
    """The read of one site of an account with `related`, prepared once per process (every
    page and API call of a site makes it)."""
    return PreparedRead(
        lambda account_id, pk: (
            Site.objects.for_account(account_id).select_related(*related).filter(pk=pk)[:1]
        ),
        int,
        int,
    )


def account_site(account_id: int, site_id: int, *, related: tuple[str, ...] = ()) -> Site | None:
    """The account's site `site_id` (None: no such site, or another account's), with the
    one-to-one relations `related` loaded with it."""
    return _site_read(related).first(account_id, site_id)
