"""`migrate`, one process at a time: nodes that start together take turns instead of racing.

PostgreSQL: a session advisory lock, released when the migration ends or the connection drops.
SQLite: an exclusive lock on a file beside the database (SQLite is one machine's by nature).
Whoever waited then finds nothing left to apply.
"""
import fcntl
from contextlib import contextmanager
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

# A fixed 64-bit key that other applications sharing the database are unlikely to use: b"bgcut-mg".
ADVISORY_LOCK_KEY = int.from_bytes(b"bgcut-mg", "big")


@contextmanager
def migration_lock(alias: str = DEFAULT_DB_ALIAS):
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
    elif connection.vendor == "sqlite":
        lock_path = Path(str(connection.settings_dict["NAME"]) + ".migrate-lock")
        with open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes, or the process dies
            yield
    else:
        raise NotImplementedError(f"migrate_locked knows PostgreSQL and SQLite, not {connection.vendor}.")


class Command(BaseCommand):
    help = "Apply migrations while holding a lock, so several nodes may run it at once (`make migrate`)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database, verbosity, **options):
        with migration_lock(database):
            call_command("migrate", database=database, interactive=False, verbosity=verbosity)
