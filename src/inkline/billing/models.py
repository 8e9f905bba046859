"""Credit costs, per-site budget allocation, holds and the append-only ledger."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from inkline.core.models import TimeStampedModel


class Operation(models.TextChoices):
    CLUSTERING = "clustering", "Clustering"
    IDEA_GENERATION = "idea_generation", "Idea generation"
    CONTENT_GENERATION = "content_generation", "Content generation"
    IMAGE_PROMPT_EXTRACTION = "image_prompt_extraction", "Image prompt extraction"
    IMAGE_GENERATION = "image_generation", "Image generation"


class CostUnit(models.TextChoices):
    PER_CALL = "call", "per call"
    PER_ITEM = "item", "per item"
    PER_1K_TOKENS = "1k_tokens", "per 1,000 tokens"
    PER_100_WORDS = "100_words", "per 100 words"
    PER_IMAGE = "image", "per image"


PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class CreditCostConfig(TimeStampedModel):
    """Global cost of an AI operation and its default share of a run's credit budget."""

    operation_type = models.CharField(max_length=30, choices=Operation.choices, unique=True)
    unit = models.CharField(max_length=12, choices=CostUnit.choices, default=CostUnit.PER_CALL)
    cost_per_unit = models.DecimalField(
        max_digits=10, decimal_places=3, default=Decimal(1), validators=[MinValueValidator(0)]
    )
    budget_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(0), validators=PERCENT
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_per_unit__gte=0), name="cost_per_unit_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(budget_percentage__gte=0) & Q(budget_percentage__lte=100),
                name="budget_percentage_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation_type}: {self.cost_per_unit} {self.get_unit_display()}"


class SiteAIBudgetAllocation(TimeStampedModel):
    """Site-specific override of the per-operation split of a run's credit budget."""

    site = models.OneToOneField(
        "accounts.Site", on_delete=models.CASCADE, related_name="ai_budget_allocation"
    )
    use_global_defaults = models.BooleanField(default=True)
    clustering_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(15), validators=PERCENT
    )
    idea_generation_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(10), validators=PERCENT
    )
    content_generation_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(40), validators=PERCENT
    )
    image_prompt_extraction_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(5), validators=PERCENT
    )
    image_generation_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(30), validators=PERCENT
    )

    def __str__(self) -> str:
        return f"AI budget of {self.site}"


class CreditHold(TimeStampedModel):
    """Credits reserved before an AI call; captured in the result's transaction or released."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CAPTURED = "captured", "Captured"
        RELEASED = "released", "Released"

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="holds")
    site = models.ForeignKey("accounts.Site", null=True, on_delete=models.SET_NULL)
    run = models.ForeignKey(
        "automation.AutomationRun", null=True, blank=True, on_delete=models.SET_NULL
    )
    operation_type = models.CharField(max_length=30, choices=Operation.choices)
    amount = models.PositiveBigIntegerField()
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"], name="hold_open_expiry")]

    def __str__(self) -> str:
        return f"hold {self.key}: {self.amount} ({self.status})"


class CreditTransaction(models.Model):
    """Append-only ledger. `amount` is the change of the balance; the sum of an account's
    amounts equals its balance. Holds appear as `reserve`/`release` rows with amount 0 and the
    held figure in `held_amount`. A capture records the tokens the provider billed for its
    call, also for a call that failed (its amount may then be 0)."""

    class Kind(models.TextChoices):
        RESERVE = "reserve", "Reserve"
        CAPTURE = "capture", "Capture"
        RELEASE = "release", "Release"
        TOPUP = "topup", "Top-up"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="transactions"
    )
    site = models.ForeignKey("accounts.Site", null=True, blank=True, on_delete=models.SET_NULL)
    run = models.ForeignKey(
        "automation.AutomationRun", null=True, blank=True, on_delete=models.SET_NULL
    )
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.BigIntegerField()
    held_amount = models.BigIntegerField(default=0)
    balance_after = models.BigIntegerField()
    operation_type = models.CharField(max_length=30, blank=True, default="")
    idempotency_key = models.CharField(max_length=200, unique=True)
    description = models.CharField(max_length=500)
    # What the provider billed for the call a capture pays for (successful or not): the
    # tokens it reported, 0 when it reported none.
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account", "at"], name="ledger_account_at")]
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_floor")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} -> {self.balance_after}"


class RunBudget(models.Model):
    """A run's credit cap, fixed when the run first reserves credits, and what it has used.

    `used` counts captures and open holds, so parallel AI calls can never overshoot: a hold is
    only taken by a conditional UPDATE that keeps `used` within `cap`. `cap` 0 is unlimited.
    """

    run = models.OneToOneField(
        "automation.AutomationRun",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="budget",
    )
    cap = models.BigIntegerField()
    used = models.BigIntegerField(default=0)
    spent = models.BigIntegerField(default=0)
    percentages = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(cap=0) | Q(used__lte=models.F("cap")), name="run_budget_within_cap"
            ),
            models.CheckConstraint(
                condition=Q(used__gte=0) & Q(spent__gte=0), name="run_budget_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"budget of run {self.run_id}: {self.used} of {self.cap or 'unlimited'}"


class RunBudgetLine(models.Model):
    """One operation's share of a capped run's budget: floor(cap × percentage / 100)."""

    budget = models.ForeignKey(RunBudget, on_delete=models.CASCADE, related_name="lines")
    operation_type = models.CharField(max_length=30, choices=Operation.choices)
    limit = models.BigIntegerField()
    used = models.BigIntegerField(default=0)
    spent = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "operation_type"], name="run_budget_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(used__gte=0) & Q(used__lte=models.F("limit")),
                name="run_budget_line_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation_type}: {self.used} of {self.limit}"
