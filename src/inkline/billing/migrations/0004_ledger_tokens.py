from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_run_budget"),
    ]

    operations = [
        migrations.AddField(
            model_name="credittransaction",
            name="prompt_tokens",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="credittransaction",
            name="completion_tokens",
            field=models.PositiveBigIntegerField(default=0),
        ),
    ]
