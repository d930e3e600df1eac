"""Create a demo user and a staff user and print how to sign in; passwords are set once.

`make run` calls this on every start: an existing user keeps the password it has, so whoever signed
in after the first run is not locked out by the second. `--reset-passwords` (or an explicit
`--password` / `--staff-password`) sets new ones.
"""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Create a demo user and a staff user and print their credentials. An existing user keeps its "
            "password unless --reset-passwords or a password is given.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="", help="set this password (default: a new random one "
                                                            "for a new user, none for an existing one)")
        parser.add_argument("--staff-username", default="staff")
        parser.add_argument("--staff-password", default="", help="as --password, for the staff user")
        parser.add_argument("--reset-passwords", action="store_true",
                            help="give existing users new random passwords (and print them)")

    def handle(self, *args, **options):
        for username, password, staff in (
            (options["username"], options["password"], False),
            (options["staff_username"], options["staff_password"], True),
        ):
            role = "staff user (ops page /ops/, admin /admin/)" if staff else "demo user (editor /)"
            exists = get_user_model().objects.filter(username=username).exists()
            if exists and not password and not options["reset_passwords"]:
                self.stdout.write(
                    f"{role}: username={username}, password kept from an earlier run "
                    "(new ones: .venv/bin/python manage.py create_demo_user --reset-passwords)"
                )
                continue
            password = password or secrets.token_urlsafe(12)
            user_upsert(username=username, password=password, staff=staff)
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
