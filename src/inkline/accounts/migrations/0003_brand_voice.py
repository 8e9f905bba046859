import django.db.models.deletion
from django.db import migrations, models

import inkline.clock


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_site_pipeline_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="BrandVoice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(db_index=True, default=inkline.clock.now, editable=False),
                ),
                ("updated_at", models.DateTimeField(default=inkline.clock.now)),
                ("voice", models.TextField(blank=True, default="", max_length=1000)),
                ("audience", models.CharField(blank=True, default="", max_length=300)),
                ("words_to_use", models.JSONField(blank=True, default=list)),
                ("words_to_avoid", models.JSONField(blank=True, default=list)),
                ("reading_ease", models.PositiveSmallIntegerField(blank=True, null=True)),
                (
                    "point_of_view",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("", "No preference"),
                            ("we", "We (first person)"),
                            ("you", "You (second person)"),
                            ("they", "They (third person)"),
                        ],
                        default="",
                        max_length=4,
                    ),
                ),
                ("example", models.TextField(blank=True, default="", max_length=2000)),
                (
                    "site",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="brand_voice",
                        to="accounts.site",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("reading_ease__isnull", True),
                            ("reading_ease__lte", 100),
                            _connector="OR",
                        ),
                        name="brand_voice_reading_ease_0_100",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("point_of_view__in", ["", "we", "you", "they"])),
                        name="brand_voice_point_of_view_known",
                    ),
                ],
            },
        ),
    ]
