"""Install the starting catalogue of request categories (configuration, not demo data)."""

from django.db import migrations


def install(apps, schema_editor):
    from linli.requests.catalogue import CATEGORIES

    Category = apps.get_model("requests", "Category")
    for order, spec in enumerate(CATEGORIES, start=1):
        defaults = {"order": order * 10, **{k: v for k, v in spec.items() if k != "code"}}
        Category.objects.get_or_create(code=spec["code"], defaults=defaults)


class Migration(migrations.Migration):
    dependencies = [("requests", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
