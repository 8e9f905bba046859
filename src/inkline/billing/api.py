"""Billing API: balance, the ledger, cost settings and each site's split of the run budget.

Each view: input serializer → one service (or selector) → output serializer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inkline.accounts.models import Account
from inkline.accounts.scoping import AccountListView, account_id_of, membership_of, site_for
from inkline.ai.types import OPERATIONS
from inkline.billing import selectors, services
from inkline.billing.models import CostUnit, CreditCostConfig, CreditTransaction
from inkline.billing.services.adjustments import MAX_ADJUSTMENT, MAX_KEY, MAX_REASON
from inkline.core.api import MAX_ID, RequiredBooleanField
from inkline.core.inputs import IdField, Input, NumberDecimalField
from inkline.core.openapi import ERROR


def _percent(**kwargs: Any) -> serializers.DecimalField:
    return NumberDecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        **kwargs,
    )


# --- balance ----------------------------------------------------------------------------------
class BalanceOut(serializers.Serializer[Any]):
    credits = serializers.IntegerField(help_text="The balance: the sum of the ledger.")
    held = serializers.IntegerField(help_text="Credits on hold for AI calls in flight.")
    available = serializers.IntegerField(help_text="credits - held; never below 0.")
    low_balance_threshold = serializers.IntegerField(
        help_text="Runs record an alert when the available balance falls below this."
    )


class BalanceView(APIView):
    @extend_schema(responses={200: BalanceOut}, summary="The caller's credit balance")
    def get(self, request: Request) -> Response:
        return Response(BalanceOut(selectors.balance_of(account_id_of(request))).data)


# --- ledger -----------------------------------------------------------------------------------
class TransactionFilter(Input):
    site = IdField(required=False, source="site_id")
    run = serializers.CharField(required=False, max_length=40, source="run__run_id")


class TransactionOut(serializers.ModelSerializer[CreditTransaction]):
    site = serializers.IntegerField(source="site_id", allow_null=True, read_only=True)
    run_id = serializers.CharField(source="run.run_id", allow_null=True, read_only=True)

    class Meta:
        model = CreditTransaction
        fields = [
            "id",
            "at",
            "kind",
            "amount",
            "held_amount",
            "balance_after",
            "operation_type",
            "site",
            "run_id",
            "description",
            "prompt_tokens",
            "completion_tokens",
        ]
        read_only_fields = fields


@extend_schema(
    parameters=[TransactionFilter],
    summary="The account's credit ledger, newest first",
    description="`amount` is the change of the balance (captures negative, top-ups positive; "
    "holds and releases are 0 with the held figure in `held_amount`). A capture carries the "
    "tokens the provider billed for its call (`prompt_tokens`, `completion_tokens`), also for "
    "a call that failed. Filter by `site` (id) "
    "and `run` (run_id); another account's site is 404.",
)
class TransactionListView(AccountListView):
    model = CreditTransaction
    serializer_class = TransactionOut
    filter_serializer_class = TransactionFilter
    ordering = ("-at", "-id")

    def filters(self) -> dict[str, Any]:
        found = super().filters()
        if "site_id" in found:
            site_for(self.request, found["site_id"])
        return found

    def scoped_queryset(self) -> Any:
        return super().scoped_queryset().select_related("run")


# --- cost settings ----------------------------------------------------------------------------
class CreditCostOut(serializers.ModelSerializer[CreditCostConfig]):
    cost_per_unit = serializers.DecimalField(
        max_digits=10, decimal_places=3, coerce_to_string=False
    )
    budget_percentage = _percent()

    class Meta:
        model = CreditCostConfig
        fields = ["operation_type", "unit", "cost_per_unit", "budget_percentage", "is_active"]
        read_only_fields = fields


class CreditCostChange(Input):
    unit = serializers.ChoiceField(choices=CostUnit.choices, required=False)
    cost_per_unit = serializers.DecimalField(
        max_digits=10, decimal_places=3, min_value=Decimal(0), required=False
    )
    budget_percentage = _percent(required=False)
    is_active = serializers.BooleanField(required=False)


class CreditCostsIn(Input):
    """Changes keyed by operation; operations and fields left out keep their values."""

    clustering = CreditCostChange(required=False)
    idea_generation = CreditCostChange(required=False)
    content_generation = CreditCostChange(required=False)
    image_prompt_extraction = CreditCostChange(required=False)
    image_generation = CreditCostChange(required=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(OPERATIONS))
            if unknown:
                message = f"Unknown operation; one of {', '.join(OPERATIONS)}."
                raise serializers.ValidationError({name: [message] for name in unknown})
        return super().to_internal_value(data)


class CreditCostListOut(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = CreditCostOut(many=True)


def _cost_page(rows: list[CreditCostConfig]) -> dict[str, Any]:
    return {
        "count": len(rows),
        "next": None,
        "previous": None,
        "results": CreditCostOut(rows, many=True).data,
    }


class CreditCostsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: CreditCostListOut},
        summary="Credit cost settings per AI operation",
        description="Cost per unit and unit of each operation, and `budget_percentage`: the "
        "global default share of a run's credit cap (sites may override it).",
    )
    def get(self, request: Request) -> Response:
        membership_of(request)
        return Response(_cost_page(selectors.cost_configs()))

    @extend_schema(
        request=CreditCostsIn,
        responses={200: CreditCostListOut},
        summary="Change credit costs (staff only)",
        description="Changes keyed by operation. Costs must be ≥ 0, percentages 0–100, and "
        "the five `budget_percentage` values must still sum to exactly 100.",
        examples=[
            OpenApiExample(
                "Dearer articles, more of the budget for images",
                value={
                    "content_generation": {"cost_per_unit": 1.5, "budget_percentage": 35},
                    "image_generation": {"budget_percentage": 35},
                },
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request) -> Response:
        if not request.user.is_staff:
            raise exceptions.PermissionDenied("Only staff can change credit costs.")
        data = CreditCostsIn(data=request.data)
        data.is_valid(raise_exception=True)
        rows = services.credit_costs_update(changes=dict(data.validated_data))
        return Response(_cost_page(rows))


# --- staff adjustments ------------------------------------------------------------------------
class AdjustmentIn(Input):
    account = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Account id.")
    amount = serializers.IntegerField(
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text="Credits to add (positive) or remove (negative); not 0.",
    )
    reason = serializers.CharField(max_length=MAX_REASON, help_text="Why; kept in the ledger.")
    idempotency_key = serializers.CharField(
        max_length=MAX_KEY,
        required=False,
        help_text="A repeat of a request with the same key is answered with the first one's "
        "ledger row instead of adjusting twice.",
    )

    def validate_amount(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("A whole number of credits other than 0.")
        return value

    def validate_account(self, value: int) -> Account:
        account = Account.objects.filter(pk=value).first()
        if account is None:
            raise serializers.ValidationError("No such account.")
        return account


class AdjustmentOut(TransactionOut):
    account = serializers.IntegerField(source="account_id", read_only=True)

    class Meta(TransactionOut.Meta):
        fields = ["account", *TransactionOut.Meta.fields]
        read_only_fields = fields


class AdjustmentView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=AdjustmentIn,
        responses={
            201: AdjustmentOut,
            409: OpenApiResponse(
                response=ERROR,
                description="The removal exceeds the available balance "
                "(`insufficient_credits`, with `available`), or the idempotency key was used "
                "for a different adjustment (`idempotency_key_reused`)",
            ),
        },
        summary="Adjust an account's credits (staff only)",
        description="Adds or removes credits with a reason, as one `adjustment` row of the "
        "ledger. A removal never takes the available balance (credits − holds) below zero.",
    )
    def post(self, request: Request) -> Response:
        if not request.user.is_staff:
            raise exceptions.PermissionDenied("Only staff can adjust credits.")
        data = AdjustmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        row = services.credits_adjust(
            account=values["account"],
            amount=values["amount"],
            reason=values["reason"],
            actor=request.user,
            idempotency_key=values.get("idempotency_key"),
        )
        return Response(AdjustmentOut(row).data, status=status.HTTP_201_CREATED)


# --- a site's allocation ----------------------------------------------------------------------
class AIBudgetIn(Input):
    use_global_defaults = RequiredBooleanField()
    clustering_percentage = _percent(required=False)
    idea_generation_percentage = _percent(required=False)
    content_generation_percentage = _percent(required=False)
    image_prompt_extraction_percentage = _percent(required=False)
    image_generation_percentage = _percent(required=False)


class AIBudgetOut(serializers.Serializer[Any]):
    use_global_defaults = serializers.BooleanField()
    clustering_percentage = _percent()
    idea_generation_percentage = _percent()
    content_generation_percentage = _percent()
    image_prompt_extraction_percentage = _percent()
    image_generation_percentage = _percent()
    effective = serializers.DictField(
        child=_percent(),
        read_only=True,
        help_text="The percentages in force: the site's own, or the global defaults.",
    )
    max_credits_per_run = serializers.IntegerField(
        read_only=True, help_text="The site's per-run cap (0 = unlimited)."
    )
    budgets = serializers.DictField(
        child=serializers.IntegerField(),
        allow_null=True,
        read_only=True,
        help_text="What each operation may spend in one run: floor(cap × effective / 100); "
        "null without a cap.",
    )


urlpatterns: list[URLPattern] = [
    path("billing/balance/", BalanceView.as_view(), name="billing-balance"),
    path("billing/transactions/", TransactionListView.as_view(), name="billing-transactions"),
    path("billing/credit-costs/", CreditCostsView.as_view(), name="billing-credit-costs"),
    path("billing/adjustments/", AdjustmentView.as_view(), name="billing-adjustments"),
]
