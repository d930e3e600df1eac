from django.core.management.base import BaseCommand

from engine.blobs import blob_store_check


class Command(BaseCommand):
    help = ("Create the blob store if it is missing: the folder under BGCUT_STORAGE_ROOT, or the bucket named in "
            "BGCUT_STORAGE_URL. Run it once with the migrations; running it again changes nothing.")

    def handle(self, *args, **options):
        blob_store_check(create=True)
        self.stdout.write("The blob store is ready.")
