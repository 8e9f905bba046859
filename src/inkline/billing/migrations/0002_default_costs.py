from decimal import Decimal

from django.db import migrations

DEFAULTS = {
    "clustering": ("item", Decimal("0.1"), Decimal(15)),
    "idea_generation": ("call", Decimal(2), Decimal(10)),
    "content_generation": ("100_words", Decimal(1), Decimal(40)),
    "image_prompt_extraction": ("call", Decimal(1), Decimal(5)),
    "image_generation": ("image", Decimal(3), Decimal(30)),
}


def seed(apps, schema_editor):
    Config = apps.get_model("billing", "CreditCostConfig")
    for op, (unit, cost, pct) in DEFAULTS.items():
        Config.objects.get_or_create(
            operation_type=op,
            defaults={"unit": unit, "cost_per_unit": cost, "budget_percentage": pct},
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
