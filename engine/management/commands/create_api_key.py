from django.core.management.base import BaseCommand

from engine.keys import account_get_or_create, api_key_create


class Command(BaseCommand):
    help = "Create ACCOUNT if needed and print a new API key as the last line (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("account", help="account name: letters, digits, '-' and '_'")
        parser.add_argument("--operator", action="store_true", help="may read every account's job log")

    def handle(self, *args, account, operator, **options):
        acct = account_get_or_create(name=account, operator=True if operator else None)
        _, raw = api_key_create(account=acct)
        self.stderr.write(f"New API key for account '{acct.name}' (store it now; it is not shown again):")
        self.stdout.write(raw)
