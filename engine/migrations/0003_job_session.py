"""AI Cut sessions on the ops page: Job.session, an index to find a session's previous click, and the
jobs already logged grouped by the same rule as new ones (engine.jobs.job_session_of)."""
from datetime import timedelta

from django.db import migrations, models

# engine.jobs.SESSION_GAP when this migration was written: migrations do not follow later changes.
SESSION_GAP = timedelta(minutes=15)


def sessions_backfill(apps, schema_editor):
    """Each AI Cut job joins the session of the account's previous one on the same input and output
    if that started at most SESSION_GAP before it (oldest first, so a session's first click comes first)."""
    Job = apps.get_model("engine", "Job")
    latest: dict[tuple, tuple] = {}  # (account, input, output) -> (started_at, session id)
    changed = []
    for job in Job.objects.filter(tool="ai-cut").order_by("started_at", "id").only(
            "id", "account_id", "input_path", "parameters", "started_at").iterator(chunk_size=2000):
        output = job.parameters.get("output_path") if isinstance(job.parameters, dict) else None
        key = (job.account_id, job.input_path, output)
        previous = latest.get(key)
        if previous and job.started_at - previous[0] <= SESSION_GAP:
            job.session = previous[1]
            changed.append(job)
        latest[key] = (job.started_at, job.session or job.id)
        if len(changed) >= 2000:
            Job.objects.bulk_update(changed, ["session"])
            changed = []
    Job.objects.bulk_update(changed, ["session"])


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
        migrations.RunPython(sessions_backfill, migrations.RunPython.noop),
    ]
