"""PostgreSQL only: two active appointments of one physician can never overlap.

Django's ExclusionConstraint (and the btree_gist extension it needs for `physician_id WITH =`)
exist only on PostgreSQL, and this project also runs on SQLite, so the constraint is raw SQL
guarded by the database vendor: on SQLite both operations are no-ops and the booking service
refuses overlaps itself. The constraint is documented in scheduling/models.py.
"""

from django.db import migrations

CONSTRAINT = "scheduling_appointment_no_overlap"

CREATE = f"""
ALTER TABLE scheduling_appointment ADD CONSTRAINT {CONSTRAINT}
EXCLUDE USING gist (physician_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
WHERE (status IN ('booked', 'in_progress', 'completed'))
"""
DROP = f"ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS {CONSTRAINT}"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(CREATE)


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_appointment_types")]

    operations = [migrations.RunPython(add_constraint, drop_constraint)]
