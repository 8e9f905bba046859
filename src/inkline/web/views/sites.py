"""Home, site switching and creating a site."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from inkline.accounts.services import site_create
from inkline.core.errors import ValidationFailed
from inkline.web.access import form_errors_from, membership_of, page, require_editor, sites_of
from inkline.web.forms import SiteForm


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard of the user's first site, or (no site yet) the form to create one."""
    sites = sites_of(request)
    if sites:
        return redirect("web:dashboard", site_id=sites[0].pk)
    return page(request, "web/welcome.html", section="sites")


@login_required
def site_new(request: HttpRequest) -> HttpResponse:
    require_editor(request)
    form = SiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            site = site_create(
                account=membership_of(request).account,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                timezone=form.cleaned_data["timezone"],
                publisher=form.cleaned_data["publisher"],
            )
        except ValidationFailed as exc:
            form_errors_from(form, exc)
        else:
            return redirect("web:dashboard", site_id=site.pk)
    return page(request, "web/site_form.html", {"form": form}, section="sites")
