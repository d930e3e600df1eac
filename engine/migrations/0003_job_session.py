"""AI Cut sessions on the ops page: Job.session, and an index to find a session's previous click."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('engine', '0002_job_credits_charged'),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='session',
            field=models.PositiveBigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(fields=['account', 'tool', 'input_path', 'started_at'], name='job_session_lookup'),
        ),
    ]
