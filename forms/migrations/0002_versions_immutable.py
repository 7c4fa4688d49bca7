"""Published form versions never change: the database refuses updates, whatever code runs.

Deleting stays possible only through the definition's PROTECT rules (visits keep theirs).
"""

from django.db import migrations

REFUSE = """
CREATE OR REPLACE FUNCTION form_version_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'form versions are immutable (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER form_version_immutable
    BEFORE UPDATE ON forms_formversion
    FOR EACH ROW EXECUTE FUNCTION form_version_refuse_update();
"""

ALLOW = """
DROP TRIGGER IF EXISTS form_version_immutable ON forms_formversion;
DROP FUNCTION IF EXISTS form_version_refuse_update();
"""


class Migration(migrations.Migration):
    dependencies = [("forms", "0001_initial")]

    operations = [migrations.RunSQL(REFUSE, ALLOW)]
