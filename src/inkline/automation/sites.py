"""Accounts and sites with everything they need to run, across the apps: an account's opening
balance (billing), a site's automation config and publishing settings, a schedule that follows
the site's time zone, and no deletion under an active run. Lives in automation, the highest
domain app these writes touch, so every import points down the layers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from inkline.accounts.models import (
    SECRET_CONFIG_KEYS,
    Account,
    Membership,
    Role,
    Site,
    validate_timezone,
)
from inkline.automation.models import ACTIVE_STATUSES, AutomationConfig, AutomationRun
from inkline.automation.services import config_reschedule
from inkline.billing.services import credit_topup
from inkline.core.errors import Conflict, NotFound, ValidationFailed
from inkline.publishing.models import PublishingSettings
from inkline.publishing.publishers.factory import publisher_target, target_errors


def account_create(
    *, name: str, username: str, password: str, credits: int = 0, email: str = ""
) -> tuple[Account, Token]:
    """A new account with its owner user; returns the account and the owner's API token.
    `email`: the owner's address, where email notices go (none without it)."""
    user_model = get_user_model()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise ValidationFailed({"email": ["Enter a valid email address."]}) from None
    if user_model.objects.filter(username=username).exists():
        raise Conflict(f"The username '{username}' is taken.", code="username_taken")
    with transaction.atomic():
        account = Account.objects.create(name=name)
        user = user_model.objects.create_user(username=username, password=password, email=email)
        Membership.objects.create(user=user, account=account, role=Role.OWNER)
        token, _ = Token.objects.get_or_create(user=user)
        if credits:
            credit_topup(account_id=account.pk, amount=credits, description="Opening balance")
    account.refresh_from_db()
    return account, token


def site_create(
    *,
    account: Account,
    name: str,
    url: str = "",
    timezone: str = "UTC",
    publisher: str = "static",
    publisher_config: dict[str, Any] | None = None,
) -> Site:
    """A site with its automation config and publishing settings."""
    try:
        validate_timezone(timezone)
    except Exception as exc:
        raise ValidationFailed({"timezone": [str(exc.args[0])]}) from None
    site = Site(account=account, name=name, url=url, timezone=timezone, publisher=publisher)
    site.set_publisher_config(publisher_config or {})
    refused = target_errors(site, before=None)
    if refused:
        raise ValidationFailed(refused)
    try:
        with transaction.atomic():
            site.save()
            AutomationConfig.objects.create(site=site)
            PublishingSettings.objects.create(site=site)
    except IntegrityError:
        raise ValidationFailed(
            {"name": [f"This account already has a site named '{name}'."]}
        ) from None
    return site


_SITE_FIELDS = frozenset({"name", "url", "timezone", "publisher"})


def site_update(
    *,
    site: Site,
    publisher_config: dict[str, Any] | None = None,
    merge_config: bool = False,
    **fields: Any,
) -> Site:
    """Change a site's `name`, `url`, `timezone`, `publisher` and/or `publisher_config`
    (plain keys replaced, secrets merged: see `Site.set_publisher_config`; with
    `merge_config`, plain keys merge too and a blank or null value removes one: what a form
    that shows some keys sends). Only the columns given are written, on the row read again
    under a lock, so concurrent changes of other fields all take effect. Returns the site as
    stored; `site` gets the values written."""
    unknown = fields.keys() - _SITE_FIELDS
    if unknown:
        raise TypeError(f"site_update got unknown fields: {sorted(unknown)}")
    if "timezone" in fields:
        try:
            validate_timezone(fields["timezone"])
        except Exception as exc:
            raise ValidationFailed({"timezone": [str(exc.args[0])]}) from None
    written = list(fields)
    try:
        with transaction.atomic():
            # Lock order: the site, then its automation config (as `config_update`).
            current = Site.objects.select_for_update(no_key=True).filter(pk=site.pk).first()
            if current is None:
                raise NotFound("No such site.")
            timezone_changed = fields.get("timezone", current.timezone) != current.timezone
            target = publisher_target(current)
            for name, value in fields.items():
                setattr(current, name, value)
            if publisher_config is not None:
                if merge_config:
                    publisher_config = _merged_config(current.publisher_config, publisher_config)
                current.set_publisher_config(publisher_config)
                written += ["publisher_config", "publisher_secrets"]
            # A new publishing address must not point inside the network (checked on the row
            # as it will be stored; an address saved earlier is not checked again).
            refused = target_errors(current, before=target)
            if refused:
                raise ValidationFailed(refused)
            if written:
                current.save(update_fields=written)
            if timezone_changed:
                config_reschedule(site=current)
    except IntegrityError:
        raise ValidationFailed(
            {"name": [f"This account already has a site named '{fields.get('name')}'."]}
        ) from None
    for name in written:
        setattr(site, name, getattr(current, name))
    return current


def _merged_config(stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` over the `stored` plain keys: a blank or null value removes a key; secret
    keys pass through (`set_publisher_config` merges them)."""
    merged = dict(stored or {})
    for key, value in changes.items():
        if key in SECRET_CONFIG_KEYS:
            merged[key] = value
        elif value in ("", None):
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def site_delete(*, site: Site) -> None:
    """Delete a site and everything in it; refused (409) while it has an active run."""
    active = AutomationRun.objects.filter(site=site, status__in=ACTIVE_STATUSES).first()
    if active is not None:
        raise Conflict(
            "The site has an active run; cancel it before deleting the site.",
            code="run_active",
            run_id=active.run_id,
        )
    site.delete()
