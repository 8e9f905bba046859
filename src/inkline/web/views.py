from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from inkline.accounts.models import Site
from inkline.automation.models import AutomationRun


@login_required
def home(request: HttpRequest) -> HttpResponse:
    account_id = request.user.membership.account_id  # type: ignore[union-attr]
    sites = Site.objects.for_account(account_id).order_by("name")
    runs = AutomationRun.objects.filter(account_id=account_id).select_related("site")[:20]
    return render(request, "web/home.html", {"sites": sites, "runs": runs})
