from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from inkline.notices.models import Delivery, WebhookEndpoint
from inkline.notices.services import delivery_redeliver


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints (their secrets stay encrypted and out of the form: the API or the UI makes
    and rotates them)."""

    list_display = ("url", "account", "is_active", "events", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    raw_id_fields = ("account",)


@admin.action(description="Redeliver (a new delivery of the same event)")
def redeliver(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
    done = [
        delivery_redeliver(delivery=d)
        for d in queryset.filter(status__in=[Delivery.Status.DELIVERED, Delivery.Status.FAILED])
    ]
    modeladmin.message_user(request, f"{len(done)} delivery(ies) queued again.")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "channel",
        "endpoint",
        "recipient",
        "status",
        "attempts",
        "response_status",
        "next_attempt_at",
    )
    list_filter = ("status", "channel", "kind")
    search_fields = ("event_id", "recipient")
    raw_id_fields = ("account", "endpoint", "redelivery_of")
    readonly_fields = ("event_id", "body", "created_at")
    actions = [redeliver]
