"""Credits: a site's AI budget split, and the account's balance, usage and ledger."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import urlencode

from inkline.billing import selectors as billing
from inkline.billing.budget import PERCENTAGE_FIELDS
from inkline.billing.services import allocation_update
from inkline.core.errors import ValidationFailed
from inkline.web import selectors
from inkline.web.access import form_errors_from, membership_of, page, require_editor, site_for
from inkline.web.forms import BudgetForm

LEDGER_PAGE = 50


@login_required
def ai_budget(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id)
    allocation = billing.site_allocation(site.pk)
    initial = {
        "use_global_defaults": "true" if allocation.use_global_defaults else "false",
        **{field: getattr(allocation, field) for field in PERCENTAGE_FIELDS.values()},
    }
    form = BudgetForm(request.POST or None, initial=initial)
    if request.method == "POST":
        require_editor(request)
        if form.is_valid():
            custom = not form.cleaned_data["use_global_defaults"]
            try:
                allocation_update(
                    site_id=site.pk,
                    use_global_defaults=not custom,
                    percentages=(
                        {op: form.cleaned_data[field] for op, field in PERCENTAGE_FIELDS.items()}
                        if custom
                        else {}
                    ),
                )
            except ValidationFailed as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, "AI budget saved.")
                return redirect("web:ai_budget", site_id=site.pk)
    context = {"form": form, **selectors.budget_page(site)}
    return page(request, "web/ai_budget.html", context, site=site, section="budget")


@login_required
def credits(request: HttpRequest) -> HttpResponse:
    account_id = membership_of(request).account_id
    filters = selectors.ledger_filters(account_id, request.GET)
    rows = billing.transactions_of(
        account_id=account_id, site_id=filters.site_id, run_pk=filters.run_pk
    ).select_related("site")
    holds = request.GET.get("holds") == "1"
    if not holds:  # holds and releases move no credits: shown on request
        rows = rows.exclude(amount=0)
    ledger = Paginator(rows, LEDGER_PAGE).get_page(request.GET.get("page"))
    query = urlencode(
        {
            key: value
            for key, value in (
                ("holds", "1" if holds else ""),
                ("site", filters.site_id or ""),
                ("run", filters.run_id),
            )
            if value
        }
    )
    context = {
        "page_obj": ledger,
        "holds": holds,
        "query": f"{query}&" if query else "",
        "ledger_site": filters.site_id,
        "ledger_run": filters.run_id,
        "ledger_error": filters.error,
        **selectors.credits_page(account_id),
    }
    return page(request, "web/credits.html", context, section="credits")
