"""Create or update a demo user and a staff user, idempotently, and print how to sign in."""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Create (or update) a demo user and a staff user and print their credentials. "
            "Passwords are random on each run unless given.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="", help="default: a new random password")
        parser.add_argument("--staff-username", default="staff")
        parser.add_argument("--staff-password", default="", help="default: a new random password")

    def handle(self, *args, **options):
        for username, password, staff in (
            (options["username"], options["password"], False),
            (options["staff_username"], options["staff_password"], True),
        ):
            # A printed password must be the one that works, so it is (re)set on every run.
            password = password or secrets.token_urlsafe(12)
            user_upsert(username=username, password=password, staff=staff)
            role = "staff user (ops page /ops/, admin /admin/)" if staff else "demo user (editor /)"
            self.stdout.write(f"{role}: username={username} password={password}")


def user_upsert(*, username: str, password: str, staff: bool):
    """The user, created when missing, with this password and these flags."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.set_password(password)
    user.is_active = True
    user.is_staff = staff
    user.is_superuser = staff
    user.save()
    return user
