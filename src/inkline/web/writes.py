"""Writes the UI makes that no domain service covers yet (kept tiny; each is a candidate to
move into its app's services)."""

from __future__ import annotations

from inkline import clock
from inkline.accounts.models import Site
from inkline.automation.models import AutomationConfig
from inkline.web.forms import AutomationConfigForm


def automation_config_save(*, form: AutomationConfigForm, site: Site) -> AutomationConfig:
    """Save the validated settings and the schedule's next run (UTC), None when off."""
    from inkline.automation.schedule import next_run_at

    config = form.save(commit=False)
    config.next_run_at = (
        next_run_at(
            frequency=config.frequency,
            scheduled_time=config.scheduled_time,
            timezone=site.timezone,
            now=clock.now(),
            day_of_week=config.day_of_week,
            day_of_month=config.day_of_month,
        )
        if config.is_enabled
        else None
    )
    config.save()
    return config
