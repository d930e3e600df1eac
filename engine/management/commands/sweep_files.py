from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from engine.sweeper import sweep_run


class Command(BaseCommand):
    help = ("Free expired files and a crash's leftovers (orphan blobs, scratch files, abandoned jobs and their "
            "credits), delete jobs and sessions past their retention; the server also does this every "
            "BGCUT_SWEEP_INTERVAL seconds. One sweep at a time runs across all nodes.")

    def add_arguments(self, parser):
        parser.add_argument("--grace-seconds", type=float, default=None,
                            help="treat leftovers older than this as abandoned (default BGCUT_SWEEP_GRACE_SECONDS); "
                                 "0 is safe only while no request is in flight")
        parser.add_argument("--now", default=None, help="sweep as if it were this ISO 8601 time (with a zone)")

    def handle(self, *args, grace_seconds=None, now=None, **options):
        if grace_seconds is not None and grace_seconds < 0:
            raise CommandError("--grace-seconds must be 0 or more.")
        at = None
        if now is not None:
            try:
                at = datetime.fromisoformat(now)
            except ValueError:
                raise CommandError(f"--now must be an ISO 8601 time such as 2026-11-30T12:00:00+00:00; got {now!r}.")
            if at.tzinfo is None:
                raise CommandError("--now needs a time zone, e.g. +00:00.")
        report = sweep_run(now=at, grace_seconds=grace_seconds)
        if report is None:
            self.stdout.write("Another sweeper is running now (on this node or another): nothing done.")
        else:
            self.stdout.write(f"Swept: {report}.")
