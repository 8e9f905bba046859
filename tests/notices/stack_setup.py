"""Run inside a `Stack`'s environment (its own database): an account, a static site in
immediate mode, one approved article nothing has scheduled yet, and a webhook at the URL
given that wants article.published. Prints JSON with the webhook's secret."""

from __future__ import annotations

import json
import sys

import django


def main(url: str) -> None:
    django.setup()
    from inkline import clock
    from inkline.automation.sites import account_create, site_create
    from inkline.notices.services import endpoint_create
    from inkline.publishing.models import PublishingSettings
    from inkline.writer.models import Content

    account, _ = account_create(name="Hooks", username="hooks", password="pw")
    site = site_create(account=account, name="hooks", url="https://hooks.example.com")
    PublishingSettings.objects.filter(site=site).update(scheduling_mode="immediate")
    Content.objects.create(
        site=site,
        title="Announced by a webhook",
        slug="announced",
        html="<p>Published by the beat, announced to a receiver.</p>",
        status=Content.Status.APPROVED,
        approved_at=clock.now(),
    )
    _, secret = endpoint_create(account=account, url=url, events=["article.published"])
    print(json.dumps({"site_id": site.pk, "secret": secret}))


if __name__ == "__main__":
    main(sys.argv[1])
