"""`make run`'s last step: a demo account with a working API key in .env, and how to use it."""
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from engine.keys import account_get_or_create, api_key_create, api_key_find

ENV_FILE = settings.BASE_DIR / ".env"


def env_file_set(name: str, value: str) -> None:
    """Set NAME=value in .env, keeping every other line."""
    lines = ENV_FILE.read_text().splitlines() if ENV_FILE.exists() else []
    lines = [line for line in lines if not line.startswith(f"{name}=")] + [f"{name}={value}"]
    ENV_FILE.write_text("\n".join(lines) + "\n")


class Command(BaseCommand):
    help = "Create the demo account, an API key for /mint-token/ (saved in .env) and the demo users."

    def add_arguments(self, parser):
        parser.add_argument("--reset-passwords", action="store_true",
                            help="give the existing demo and staff users new passwords")

    def handle(self, *args, **options):
        account = account_get_or_create(name="demo", operator=True)
        key = settings.BGCUT_API_KEY
        if not key or api_key_find(raw_key=key) is None:
            _, key = api_key_create(account=account)
            env_file_set("BGCUT_API_KEY", key)
        try:
            # Passwords are set once: a second `make run` keeps them unless asked.
            call_command("create_demo_user", reset_passwords=options["reset_passwords"], stdout=self.stdout)
        except Exception as error:  # the editor may not be installed in an engine-only deployment
            self.stderr.write(f"(no demo user: {error})")
        base = f"http://127.0.0.1:{settings.BGCUT_DEMO_PORT}"
        self.stdout.write(
            f"\nbgcut is starting on {base}/\n"
            f"Demo account 'demo', API key (also in .env as BGCUT_API_KEY):\n  {key}\n\n"
            "Try the API:\n"
            f"  curl -s -H 'Authorization: Token {key}' -F files=@photo.jpg -F upload_path=demo "
            f"{base}/v3/file-ops/upload/\n"
            f"  curl -s -H 'Authorization: Token {key}' -H 'Content-Type: application/json' "
            "-d '{\"input_file_path\": \"demo/photo.jpg\", \"output_variants\": "
            "[{\"output_file_path\": \"demo/cutout.png\"}]}' "
            f"{base}/v3/tools/ai/remove-bg/process/\n"
            f"  curl -s -H 'Authorization: Token {key}' -o cutout.png {base}/v3/files/demo/cutout.png\n"
            f"API docs: {base}/api/docs/\n"
        )
