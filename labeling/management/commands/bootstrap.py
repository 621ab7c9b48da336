"""First-run set-up for the embedded default: an admin account and a demo project.

Idempotent: running it again changes nothing and prints the same login. The generated password is
kept in DATA_DIR/admin-password.txt (mode 600) so `scripts/run` can print it every time;
TRACKROOM_ADMIN_PASSWORD overrides it on first creation.
"""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from labeling.services.demo import ensure_demo_project


class Command(BaseCommand):
    help = "Create the first admin user and a demo project if they do not exist, and print the login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("TRACKROOM_ADMIN_USER", "admin"))

    @transaction.atomic
    def handle(self, *args, username: str, **options):
        User = get_user_model()
        password_file = settings.DATA_DIR / "admin-password.txt"
        user = User.objects.filter(username=username).first()
        if user is None:
            password = os.environ.get("TRACKROOM_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, email="", password=password)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        else:
            password = password_file.read_text().strip() if password_file.exists() else "(unchanged; set earlier)"
        project = ensure_demo_project(user)
        self.stdout.write(f"Login: {username} / {password}")
        self.stdout.write(f"Demo project: '{project.name}' (id {project.id})")
