"""Production settings pass Django's deployment checklist, and the OpenAPI schema is clean."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _manage(args: list[str], env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRACKROOM_"))}
    base.pop("DATABASE_URL", None)  # settings only: no database needed, use the embedded default
    base.update({"TRACKROOM_DATA_DIR": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}, **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_has_no_warnings(tmp_path):
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    env = {
        "TRACKROOM_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(60)),
        "DJANGO_ALLOWED_HOSTS": "example.org",
    }
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_production_refuses_a_weak_secret_key(tmp_path):
    env = {"TRACKROOM_PRODUCTION": "1", "DJANGO_SECRET_KEY": "short", "DJANGO_ALLOWED_HOSTS": "example.org"}
    result = _manage(["check", "--deploy"], env, tmp_path)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_openapi_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    result = _manage(["spectacular", "--validate", "--fail-on-warn", "--file", str(out)], {}, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    schema = yaml.safe_load(out.read_text())
    paths = schema["paths"]
    for path in [
        "/api/projects/", "/api/projects/{id}/", "/api/projects/{project_pk}/members/",
        "/api/projects/{project_pk}/labels/{id}/", "/api/tracks/", "/api/figures/{id}/",
        "/api/videos/{video_pk}/figures/", "/api/videos/{video_pk}/figures/bulk/", "/api/jobs/{id}/cancel/",
        "/api/auth/token/", "/api/me/",
    ]:  # fmt: skip
        assert path in paths, path
    assert "409" in paths["/api/figures/{id}/"]["patch"]["responses"]
