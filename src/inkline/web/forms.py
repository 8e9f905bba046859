"""Forms of the UI: every input is validated here (or by the service a view calls) and every
error is shown next to its field."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms

from inkline.accounts.models import Publisher
from inkline.automation.models import STAGE_LIMIT_FIELDS, AutomationConfig
from inkline.planner.models import Keyword

MAX_CSV_BYTES = 5 * 1024 * 1024
WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"),
            (5, "Saturday"), (6, "Sunday")]  # fmt: skip


@cache
def timezone_choices() -> list[tuple[str, str]]:
    names = sorted(
        n for n in zoneinfo.available_timezones() if "/" in n or n == "UTC"
    )  # leave out legacy aliases such as "EST5EDT"
    return [(n, n.replace("_", " ")) for n in names]


class SiteForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="A short name, unique in your account.")
    url = forms.URLField(
        label="URL", required=False, max_length=500, assume_scheme="https",
        help_text="The public address of the site, e.g. https://blog.example.com",
    )  # fmt: skip
    timezone = forms.ChoiceField(
        choices=timezone_choices,
        initial="UTC",
        help_text="Schedules and publishing slots are in this time zone.",
    )
    publisher = forms.ChoiceField(choices=Publisher.choices, initial=Publisher.STATIC)

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the site a name.")
        return name


class AutomationConfigForm(forms.ModelForm):
    """Schedule, stage toggles and the per-run limits (0 = unlimited)."""

    day_of_week = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, label="Day of the week")
    day_of_month = forms.TypedChoiceField(
        choices=[(d, str(d)) for d in range(1, 29)], coerce=int, label="Day of the month"
    )

    class Meta:
        model = AutomationConfig
        fields = [
            "is_enabled",
            "frequency",
            "scheduled_time",
            "day_of_week",
            "day_of_month",
            *(f"stage_{s}_enabled" for s in range(1, 8)),
            *STAGE_LIMIT_FIELDS.values(),
            "max_credits_per_run",
        ]
        labels = {
            "is_enabled": "Run automatically on a schedule",
            "scheduled_time": "Time of day",
            "max_credits_per_run": "Credits per run",
        }
        widgets = {
            "frequency": forms.RadioSelect,
            "scheduled_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in [*STAGE_LIMIT_FIELDS.values(), "max_credits_per_run"]:
            field = self.fields[name]
            field.widget.attrs.update({"min": 0, "class": "num"})
            field.help_text = ""
        self.fields["scheduled_time"].help_text = "In the site's time zone."


class KeywordImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="A header row with a 'keyword' column; 'volume', 'difficulty' and 'intent' "
        "are optional.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB; split it into parts.")
        return upload


class KeywordFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Keyword.Status.choices], required=False
    )
    cluster = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, clusters: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cluster = self.fields["cluster"]
        assert isinstance(cluster, forms.TypedChoiceField)
        cluster.choices = [("", "Any cluster"), *clusters]


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, label="Reason (optional)")
