"""Inkline: keywords to scheduled, published articles."""

from inkline.celery import app as celery_app

__all__ = ["celery_app"]
