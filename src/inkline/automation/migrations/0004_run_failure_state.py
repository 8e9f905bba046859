from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0003_config_ai_check"),
    ]

    operations = [
        migrations.AddField(
            model_name="automationrun",
            name="endpoint_failures_in_row",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="automationrun",
            name="item_failures_in_row",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="automationrun",
            name="failed_item_ids",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="automationrun",
            name="notes",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="automationrun",
            name="ai_check",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
