"""Webhooks API: endpoints of the caller's account, their delivery logs, redelivery.
Input serializer → one service → output serializer."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inkline.accounts.scoping import AccountListView, account_objects, membership_of
from inkline.core.inputs import Input, UniqueListField
from inkline.core.openapi import ERROR
from inkline.notices import selectors, services
from inkline.notices.models import Delivery, EventKind, WebhookEndpoint


class WebhookIn(Input):
    url = serializers.URLField(
        max_length=500,
        help_text="http(s) address of the receiver; refused when it resolves to a private "
        "address, unless INKLINE_ALLOW_PRIVATE_TARGETS",
    )
    events = UniqueListField(
        child=serializers.ChoiceField(choices=EventKind.choices),
        min_length=1,
        max_length=len(EventKind.choices),
        help_text="The events sent to this endpoint",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(
        required=False, help_text="Off: nothing is sent (deliveries due meanwhile fail)"
    )


class WebhookOut(serializers.ModelSerializer[WebhookEndpoint]):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventKind.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "is_active", "created_at"]
        read_only_fields = fields


class WebhookCreatedOut(WebhookOut):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret, shown this once (stored encrypted; rotate it to get "
        "a new one)"
    )

    class Meta(WebhookOut.Meta):
        fields = [*WebhookOut.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, endpoint: WebhookEndpoint) -> str:
        return str(self.context["secret"])


class SecretOut(serializers.Serializer[Any]):
    secret = serializers.CharField(help_text="The new signing secret, shown this once")


class DeliveryOut(serializers.ModelSerializer[Delivery]):
    webhook = serializers.IntegerField(source="endpoint_id", read_only=True)
    redelivery_of = serializers.IntegerField(
        source="redelivery_of_id",
        read_only=True,
        allow_null=True,
        help_text="The delivery this one sends again (by hand), if any",
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhook",
            "event_id",
            "kind",
            "status",
            "attempts",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "response_status",
            "response_excerpt",
            "error",
            "redelivery_of",
            "body",
        ]
        read_only_fields = fields


def webhook_for(request: Request, webhook_id: int) -> WebhookEndpoint:
    """The caller's endpoint, or 404 (another account's is never revealed)."""
    return get_object_or_404(account_objects(request, WebhookEndpoint, "account"), pk=webhook_id)


class WebhookListView(AccountListView):
    """The account's webhook endpoints (GET) and a new one (POST)."""

    model = WebhookEndpoint
    serializer_class = WebhookOut

    @extend_schema(
        request=WebhookIn,
        responses={201: WebhookCreatedOut},
        summary="Create a webhook endpoint (its secret is in this answer only)",
    )
    def post(self, request: Request) -> Response:
        data = WebhookIn(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(
            account=membership_of(request).account, **data.validated_data
        )
        body = WebhookCreatedOut(endpoint, context={"secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    @extend_schema(responses={200: WebhookOut}, summary="A webhook endpoint")
    def get(self, request: Request, webhook_id: int) -> Response:
        return Response(WebhookOut(webhook_for(request, webhook_id)).data)

    @extend_schema(
        request=WebhookIn(partial=True), responses={200: WebhookOut}, summary="Change a webhook"
    )
    def patch(self, request: Request, webhook_id: int) -> Response:
        endpoint = webhook_for(request, webhook_id)
        data = WebhookIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, data=dict(data.validated_data))
        return Response(WebhookOut(endpoint).data)

    @extend_schema(responses={204: None}, summary="Delete a webhook and its delivery log")
    def delete(self, request: Request, webhook_id: int) -> Response:
        services.endpoint_delete(endpoint=webhook_for(request, webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretView(APIView):
    @extend_schema(
        request=None,
        responses={200: SecretOut},
        summary="Replace a webhook's signing secret (the old one stops at once)",
    )
    def post(self, request: Request, webhook_id: int) -> Response:
        endpoint = webhook_for(request, webhook_id)
        return Response(
            SecretOut({"secret": services.endpoint_rotate_secret(endpoint=endpoint)}).data
        )


class DeliveryListView(generics.ListAPIView[Delivery]):
    """A webhook's delivery log, newest first."""

    serializer_class = DeliveryOut

    def get_queryset(self) -> Any:
        return selectors.endpoint_deliveries(webhook_for(self.request, self.kwargs["webhook_id"]))


class RedeliverView(APIView):
    @extend_schema(
        request=None,
        responses={
            201: DeliveryOut,
            409: OpenApiResponse(
                response=ERROR, description="The delivery is still pending or being sent"
            ),
        },
        summary="Send a delivered or failed delivery again (a new delivery, same event)",
    )
    def post(self, request: Request, webhook_id: int, delivery_id: int) -> Response:
        endpoint = webhook_for(request, webhook_id)
        delivery = get_object_or_404(Delivery, pk=delivery_id, endpoint=endpoint)
        again = services.delivery_redeliver(delivery=delivery)
        return Response(DeliveryOut(again).data, status=status.HTTP_201_CREATED)


urlpatterns: list[URLPattern] = [
    path("webhooks/", WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<id:webhook_id>/", WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<id:webhook_id>/rotate-secret/", WebhookSecretView.as_view()),
    path("webhooks/<id:webhook_id>/deliveries/", DeliveryListView.as_view()),
    path(
        "webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver/",
        RedeliverView.as_view(),
    ),
]
