"""Run inside a `Stack`'s environment (its own database): an account, a static site in
immediate mode and N approved articles that nothing has scheduled yet. Prints JSON."""

from __future__ import annotations

import json
import sys

import django


def main(count: int) -> None:
    django.setup()
    from inkline import clock
    from inkline.automation.sites import account_create, site_create
    from inkline.publishing.models import PublishingSettings
    from inkline.writer.models import Content

    account, _ = account_create(name="Beat", username="beat", password="pw")
    site = site_create(account=account, name="beat", url="https://beat.example.com")
    PublishingSettings.objects.filter(site=site).update(scheduling_mode="immediate")
    for i in range(count):
        Content.objects.create(
            site=site,
            title=f"Beat article {i}",
            slug=f"beat-article-{i}",
            html=f"<p>Published by the beat, number {i}.</p>",
            status=Content.Status.APPROVED,
            approved_at=clock.now(),
        )
    print(json.dumps({"site_id": site.pk}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
