"""Every /api/v1/ route, gathered from the apps' api modules."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
