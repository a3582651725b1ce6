"""The prescribing basis: policy settings for each ground, the basis a signature relied on; the
old in-person evaluation table (its rows were copied to scheduling by scheduling 0006)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("prescriptions", "0003_delivery_order_newest_first_index"),
        ("scheduling", "0006_in_person_evaluation_type_and_legacy_rows"),
    ]

    operations = [
        migrations.AddField(
            model_name="prescribingpolicy",
            name="in_person_evaluation_valid_days",
            field=models.PositiveIntegerField(
                blank=True, help_text="Empty = an in-person evaluation counts without a time limit.", null=True
            ),
        ),
        migrations.AddField(
            model_name="prescribingpolicy",
            name="practitioner_present_allowed",
            field=models.BooleanField(
                default=True,
                help_text="21 U.S.C. 802(54)(B): a DEA-registered practitioner with the patient at the visit.",
            ),
        ),
        migrations.AddField(
            model_name="prescribingpolicy",
            name="practitioner_present_valid_days",
            field=models.PositiveIntegerField(
                default=90, help_text="How long after such a video visit it supports a new prescription."
            ),
        ),
        migrations.AddField(
            model_name="prescribingpolicy",
            name="readiness_notice_days",
            field=models.PositiveIntegerField(
                default=45, help_text="Days before a policy switch when the care team and patients are told."
            ),
        ),
        migrations.AddField(
            model_name="prescribingpolicy",
            name="special_registration_enabled",
            field=models.BooleanField(
                default=False, help_text="DEA special registration for telemedicine: off until a final rule exists."
            ),
        ),
        migrations.AddField(
            model_name="prescription",
            name="prescribing_basis",
            field=models.CharField(
                blank=True,
                choices=[
                    ("telemedicine_flexibility", "Federal telemedicine flexibilities in force"),
                    ("in_person_evaluation", "In-person evaluation by the prescriber"),
                    ("practitioner_present", "DEA-registered practitioner present at the video visit"),
                    ("special_registration", "DEA special registration for telemedicine"),
                ],
                help_text="The lawful basis for prescribing by telemedicine this signature relied on.",
                max_length=32,
            ),
        ),
        migrations.DeleteModel(
            name="InPersonEvaluation",
        ),
    ]
