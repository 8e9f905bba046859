"""Webhooks: the account's endpoints, each one's delivery log, redelivery by hand."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from inkline.core.errors import ValidationFailed
from inkline.notices import selectors as notices
from inkline.notices import services
from inkline.notices.models import Delivery, WebhookEndpoint
from inkline.web.access import action, form_errors_from, membership_of, page, require_editor
from inkline.web.forms import WebhookForm

LOG_PAGE = 50


def _endpoint(request: HttpRequest, webhook_id: int) -> WebhookEndpoint:
    account_id = membership_of(request).account_id
    endpoint = WebhookEndpoint.objects.filter(account_id=account_id, pk=webhook_id).first()
    if endpoint is None:
        raise Http404("No such webhook.")
    return endpoint


@login_required
def webhooks(request: HttpRequest) -> HttpResponse:
    """The account's endpoints, and a form for a new one (its secret is shown once, here)."""
    account = membership_of(request).account
    form = WebhookForm(request.POST or None)
    secret = ""
    if request.method == "POST":
        require_editor(request)
        if form.is_valid():
            try:
                endpoint, secret = services.endpoint_create(account=account, **form.cleaned_data)
            except ValidationFailed as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, f"Webhook {endpoint.url} added.")
                form = WebhookForm()
    endpoints = WebhookEndpoint.objects.filter(account=account).order_by("id")
    context = {"form": form, "endpoints": endpoints, "secret": secret}
    return page(request, "web/webhooks.html", context, section="webhooks")


@login_required
def webhook_log(request: HttpRequest, webhook_id: int) -> HttpResponse:
    """One endpoint's delivery log, newest first, with a Redeliver button per finished one."""
    endpoint = _endpoint(request, webhook_id)
    log = Paginator(notices.endpoint_deliveries(endpoint), LOG_PAGE)
    context = {"endpoint": endpoint, "page_obj": log.get_page(request.GET.get("page"))}
    return page(request, "web/webhook_log.html", context, section="webhooks")


@action
def webhook_delete(request: HttpRequest, webhook_id: int) -> HttpResponse:
    endpoint = _endpoint(request, webhook_id)
    services.endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Webhook {endpoint.url} deleted.")
    return redirect("web:webhooks")


@action
def delivery_redeliver(request: HttpRequest, webhook_id: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(request, webhook_id)
    delivery = Delivery.objects.filter(endpoint=endpoint, pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery.")
    services.delivery_redeliver(delivery=delivery)
    messages.success(request, f"The {delivery.kind} event is queued for delivery again.")
    return redirect("web:webhook_log", webhook_id=endpoint.pk)
