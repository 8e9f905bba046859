"""Forms of the UI: every input is validated here (or by the service a view calls) and every
error is shown next to its field."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from functools import cache
from typing import Any

from django import forms

from inkline.accounts import voice as voices
from inkline.accounts.models import PointOfView, Publisher, Site
from inkline.automation.models import AutomationConfig
from inkline.automation.stages import STAGE_CLASSES, STAGE_LIMIT_FIELDS
from inkline.notices.models import EventKind
from inkline.planner.models import Keyword
from inkline.publishing.models import (
    DAY_NAMES,
    INTERNAL_LINKS_MAX_LIMIT,
    SETTINGS_FIELDS,
    PublishingSettings,
)
from inkline.publishing.slots import parse_hhmm
from inkline.writer.models import ContentRevision, SeoSettings

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


class SiteSettingsForm(SiteForm):
    """A site's name, address, time zone and publisher with its settings. The form only
    types the inputs; the rules are the API's (`accounts.api.SiteIn`), which the view applies
    to what `site_changes` builds. The application password is write-only: blank keeps the
    stored one."""

    wp_url = forms.URLField(
        label="WordPress address", required=False, max_length=500, assume_scheme="https",
        help_text="Where WordPress answers, e.g. https://blog.example.com. Blank: the site's URL.",
    )  # fmt: skip
    wp_username = forms.CharField(label="WordPress username", required=False)
    wp_application_password = forms.CharField(
        label="Application password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="In WordPress: Users → Profile → Application Passwords. Stored encrypted; "
        "leave blank to keep the stored one.",
    )
    wp_forget_password = forms.BooleanField(
        label="Forget the stored application password", required=False
    )
    static_layout = forms.ChoiceField(
        label="Layout",
        choices=[("hugo", "Hugo (content/posts/)"), ("jekyll", "Jekyll (_posts/)")],
        initial="hugo",
    )

    # form field → publisher_config key, per publisher
    CONFIG_FIELDS = {
        "wordpress": {"wp_url": "url", "wp_username": "username"},
        "static": {"static_layout": "layout"},
    }
    PASSWORD_KEYS = ("application_password", "password")

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        config = site.publisher_config or {}
        initial = {
            "name": site.name,
            "url": site.url,
            "timezone": site.timezone,
            "publisher": site.publisher,
            **{
                field: config.get(key, "")
                for fields in self.CONFIG_FIELDS.values()
                for field, key in fields.items()
            },
        }
        initial["static_layout"] = config.get("layout") or "hugo"
        kwargs["initial"] = initial | (kwargs.get("initial") or {})
        super().__init__(*args, **kwargs)
        self.site = site
        self.password_set = any(site.secrets().get(key) for key in self.PASSWORD_KEYS)
        self.fields["publisher"].widget = forms.RadioSelect(choices=Publisher.choices)

    def site_changes(self) -> dict[str, Any]:
        """What to send to the site service (as the API's PATCH body, with `merge_config`):
        the publisher settings this form shows for the chosen publisher (a blank one
        removes its key), the password only when typed or to be forgotten. Keys the form
        does not show are not sent, so a change made meanwhile elsewhere is kept."""
        data = self.cleaned_data
        publisher = data["publisher"]
        config: dict[str, Any] = {
            key: data.get(field) or ""
            for field, key in self.CONFIG_FIELDS.get(publisher, {}).items()
        }
        if publisher == "wordpress":
            if data.get("wp_application_password"):
                config["application_password"] = data["wp_application_password"]
            elif data.get("wp_forget_password"):
                config.update(dict.fromkeys(self.PASSWORD_KEYS, ""))
        return {
            "name": data["name"],
            "url": data["url"],
            "timezone": data["timezone"],
            "publisher": publisher,
            "publisher_config": config,
        }

    def config_field(self, key: str) -> str | None:
        """The form field showing publisher_config `key`, if any."""
        if key in self.PASSWORD_KEYS:
            return "wp_application_password"
        for fields in self.CONFIG_FIELDS.values():
            for field, config_key in fields.items():
                if config_key == key:
                    return field
        return None


class WordListField(forms.CharField):
    """Words or phrases, one a line (commas separate them too); the service bounds them."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [w for line in text.splitlines() for w in line.split(",") if w.strip()]

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list | tuple) else value


class BrandVoiceForm(forms.Form):
    """A site's brand voice (`accounts.services.brand_voice_update` applies the rules)."""

    voice = forms.CharField(
        required=False,
        max_length=voices.VOICE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="How the articles should sound, e.g. 'Warm, practical, no hype'.",
    )
    audience = forms.CharField(
        required=False, max_length=voices.AUDIENCE_MAX, help_text="Who reads the site."
    )
    words_to_use = WordListField(
        required=False,
        help_text=f"One a line (at most {voices.WORDS_MAX}). Asked for in the writing prompt; "
        "not checked.",
    )
    words_to_avoid = WordListField(
        required=False,
        help_text=f"One a line (at most {voices.WORDS_MAX}). Never written by the local "
        "provider; an article using one (whole words, any case) is held in review, naming it.",
    )
    reading_ease = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        label="Target reading ease",
        widget=forms.NumberInput(attrs={"class": "num"}),
        help_text="Flesch reading ease the SEO check asks for (0–100). Blank: "
        f"{voices.DEFAULT_READING_EASE}.",
    )
    point_of_view = forms.ChoiceField(choices=PointOfView.choices, required=False)
    example = forms.CharField(
        required=False,
        max_length=voices.EXAMPLE_MAX,
        label="Example paragraph",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="A paragraph in the site's voice, for the model to match.",
    )


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
            *(s.enabled_field for s in STAGE_CLASSES.values()),
            *STAGE_LIMIT_FIELDS.values(),
            "max_credits_per_run",
            "refresh_enabled",
            "refresh_older_than_days",
            "refresh_below_threshold",
            "refresh_max_per_run",
        ]
        labels = {
            "is_enabled": "Run automatically on a schedule",
            "scheduled_time": "Time of day",
            "max_credits_per_run": "Credits per run",
            "refresh_enabled": "Runs also refresh published articles",
            "refresh_older_than_days": "Older than (days)",
            "refresh_below_threshold": "SEO score below the approval threshold",
            "refresh_max_per_run": "Articles to refresh per run",
        }
        widgets = {
            "frequency": forms.RadioSelect,
            "scheduled_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in [
            *STAGE_LIMIT_FIELDS.values(),
            "max_credits_per_run",
            "refresh_older_than_days",
            "refresh_max_per_run",
        ]:
            field = self.fields[name]
            field.widget.attrs.update({"min": 0, "class": "num"})
            field.help_text = ""
        self.fields["refresh_older_than_days"].widget.attrs["max"] = ContentRevision.MAX_AGE_DAYS
        for name in ("refresh_older_than_days", "refresh_max_per_run"):
            self.fields[name].required = False  # left empty: kept as they are
        self.fields["scheduled_time"].help_text = "In the site's time zone."

    def _kept(self, name: str) -> int:
        value = self.cleaned_data.get(name)
        return int(getattr(self.instance, name)) if value is None else int(value)

    def clean_refresh_older_than_days(self) -> int:
        return self._kept("refresh_older_than_days")

    def clean_refresh_max_per_run(self) -> int:
        return self._kept("refresh_max_per_run")


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
    q = forms.CharField(label="Search", required=False, max_length=255)
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[
            ("newest", "Newest import first"),
            ("volume", "Volume (highest first)"),
            ("difficulty", "Difficulty (easiest first)"),
            ("status", "Status"),
            ("keyword", "Keyword (A–Z)"),
        ],
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Keyword.Status.choices], required=False
    )
    cluster = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, clusters: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cluster = self.fields["cluster"]
        assert isinstance(cluster, forms.TypedChoiceField)
        cluster.choices = [("", "Any cluster"), *clusters]


class SeoSettingsForm(forms.Form):
    """The site's SEO settings: approval threshold and minimum words per article (the service
    `writer.quality.seo_settings_update` checks the ranges again). A blank minimum keeps the
    current one."""

    approval_threshold = forms.IntegerField(
        label="Approve automatically at an SEO score of at least",
        min_value=0,
        max_value=100,
        help_text="0–100. Articles scoring lower stay here with the reason. Changing it sends "
        "held articles back to stage 7 to be judged again.",
        widget=forms.NumberInput(attrs={"class": "num"}),
    )
    min_words = forms.IntegerField(
        label="Minimum words per article",
        min_value=0,
        max_value=SeoSettings.MAX_MIN_WORDS,
        required=False,
        help_text="0–10000 (0: no minimum). Stage 4 asks the AI for at least this many words; "
        "a shorter article is asked again once, then its task fails with the reason.",
        widget=forms.NumberInput(attrs={"class": "num"}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, label="Reason (optional)")


class RefreshForm(forms.Form):
    """Refresh published articles of a site: by age, by SEO score (each adds articles)."""

    older_than_days = forms.IntegerField(
        label="Last written more than (days) ago",
        required=False,
        min_value=1,
        max_value=ContentRevision.MAX_AGE_DAYS,
    )
    seo_below = forms.IntegerField(
        label="SEO score below", required=False, min_value=1, max_value=100
    )
    limit = forms.IntegerField(
        label="At most", required=False, min_value=1, max_value=1000, initial=10
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("older_than_days") and not data.get("seo_below"):
            raise forms.ValidationError("Give an age, an SEO score, or both.")
        return data


class SlotsWidget(forms.Widget):
    """Several `<input type="time" name=...>` of one name (rendered by the page)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])


class TimeSlotsField(forms.Field):
    widget = SlotsWidget

    def to_python(self, value: Any) -> list[str]:
        slots: list[str] = []
        for raw in value or []:
            text = str(raw).strip()[:5]
            if not text:
                continue
            try:
                parse_hhmm(text)
            except ValueError:
                raise forms.ValidationError(f"“{raw}” is not a time as HH:MM.") from None
            if text in slots:
                raise forms.ValidationError(f"{text} is listed twice; each slot holds one item.")
            slots.append(text)
        return sorted(slots)


class PublishingSettingsForm(forms.ModelForm):
    publish_days = forms.MultipleChoiceField(
        choices=[(d, d.capitalize()) for d in DAY_NAMES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Publish days",
    )
    publish_time_slots = TimeSlotsField(required=False, label="Time slots")
    internal_links_max = forms.IntegerField(
        min_value=0,
        max_value=INTERNAL_LINKS_MAX_LIMIT,
        label="Links per article",
        help_text=(
            "When an article is published it links to the closest published articles of its "
            f"cluster, and they to it (0–{INTERNAL_LINKS_MAX_LIMIT}; 0 turns internal links off)."
        ),
    )

    class Meta:
        model = PublishingSettings
        fields = list(SETTINGS_FIELDS)
        labels = {
            "auto_approval_enabled": "Automatically approve content",
            "auto_publish_enabled": "Automatically publish approved content",
            "stagger_start_time": "Start time",
            "stagger_end_time": "End time",
            "stagger_interval_minutes": "Interval (minutes between publications)",
            "daily_publish_target": "Daily",
            "weekly_publish_target": "Weekly",
            "monthly_publish_target": "Monthly",
            "queue_limit": "Queue limit",
            "schedule_on_wordpress": "Hand scheduled posts to WordPress",
        }
        help_texts = {
            "schedule_on_wordpress": (
                "Each scheduled article is created on WordPress at once as a scheduled post "
                "at its slot, so WordPress publishes it even if Inkline is down. Rescheduling "
                "moves its date; unscheduling or rejecting moves it to WordPress's trash. "
                "Only with the WordPress publisher."
            ),
        }
        widgets = {
            "scheduling_mode": forms.RadioSelect,
            "stagger_start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "stagger_end_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue_limit"].help_text = "The most items scheduled at once."
        for name in ("stagger_interval_minutes", "queue_limit"):
            self.fields[name].widget.attrs["min"] = 1

    def clean_stagger_interval_minutes(self) -> int:
        value = int(self.cleaned_data["stagger_interval_minutes"])
        if value < 1:
            raise forms.ValidationError("At least 1 minute.")
        return value

    def clean_queue_limit(self) -> int:
        value = int(self.cleaned_data["queue_limit"])
        if value < 1:
            raise forms.ValidationError("At least 1.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("stagger_start_time"), data.get("stagger_end_time")
        if start and end and end <= start:
            self.add_error("stagger_end_time", "The end time must be after the start time.")
        if data.get("scheduling_mode") == "time_slots" and data.get("publish_time_slots") == []:
            self.add_error("publish_time_slots", "Time-slot mode needs at least one slot.")
        return data

    def slot_values(self) -> list[str]:
        """The slots to show in the editor, plus two empty ones to add more."""
        if self.is_bound:
            raw = self.data.getlist("publish_time_slots")  # type: ignore[attr-defined]
            values = [v for v in raw if v.strip()]
        else:
            values = list(self.instance.publish_time_slots or [])
        return [*values, "", ""]


def _slider(label: str) -> forms.DecimalField:
    """A share in percent with two decimals: the number box the form sends (a range slider
    beside it, drawn by the page, moves it too)."""
    return forms.DecimalField(
        label=label,
        min_value=0,
        max_value=100,
        decimal_places=2,
        widget=forms.NumberInput(
            attrs={"min": 0, "max": 100, "step": "0.01", "class": "num", "inputmode": "decimal"}
        ),
    )


class BudgetForm(forms.Form):
    """A site's split of the per-run credit cap across the five AI operations."""

    use_global_defaults = forms.TypedChoiceField(
        choices=[("true", "Use the global defaults"), ("false", "Custom allocation")],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
        label="Allocation",
    )
    clustering_percentage = _slider("Clustering")
    idea_generation_percentage = _slider("Idea generation")
    content_generation_percentage = _slider("Content generation")
    image_prompt_extraction_percentage = _slider("Image prompt extraction")
    image_generation_percentage = _slider("Image generation")

    PERCENT_FIELDS = (
        "clustering_percentage",
        "idea_generation_percentage",
        "content_generation_percentage",
        "image_prompt_extraction_percentage",
        "image_generation_percentage",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("use_global_defaults") is False:
            values = [v for name in self.PERCENT_FIELDS if isinstance(v := data.get(name), Decimal)]
            if len(values) == len(self.PERCENT_FIELDS):
                total = sum(values, Decimal(0))
                if total != 100:
                    raise forms.ValidationError(
                        f"The five percentages must add up to exactly 100; they add up to "
                        f"{total.normalize():f}."
                    )
        return data


class WebhookForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        label="URL",
        assume_scheme="https",
        help_text="Where each event is POSTed, signed (see README: verifying signatures).",
    )
    events = forms.MultipleChoiceField(
        choices=EventKind.choices, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(max_length=200, required=False)
