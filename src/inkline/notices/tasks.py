"""Thin Celery wrappers for the beat: one service call, explicit names."""

from __future__ import annotations

from celery import shared_task

from inkline.notices import services


@shared_task(name="inkline.notices.deliver_due", ignore_result=True)
def deliver_due() -> int:
    """One attempt at every due webhook and email delivery; returns how many succeeded."""
    outcomes = services.deliveries_send_due()
    return sum(1 for outcome in outcomes.values() if outcome == "delivered")
