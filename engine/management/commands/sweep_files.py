from django.core.management.base import BaseCommand

from engine.files import files_sweep


class Command(BaseCommand):
    help = "Delete expired files and free their bytes (the server also does this every BGCUT_SWEEP_INTERVAL s)."

    def handle(self, *args, **options):
        self.stdout.write(f"Swept {files_sweep()} expired files.")
