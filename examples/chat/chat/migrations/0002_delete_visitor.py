# Who is here is callboard's presence API now (chat/presence.py), on every layer.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(
            name="Visitor",
        ),
    ]
