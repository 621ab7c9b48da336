"""A real Trackroom server for browser tests and browser benchmarks: daphne in the embedded mode
(SQLite, in-process job worker, in-memory channel layer) over a fresh data folder, as `scripts/run`
serves it, plus the Chromium that drives it (Debian's, never `playwright install`)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
CHROMIUM = os.environ.get("TRACKROOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
USERS = ("alice", "bob", "vera")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        dropped = ("DATABASE_URL", "REDIS_URL", "TRACKROOM_SQLITE_PATH", "TRACKROOM_MEDIA_ROOT",
                   "TRACKROOM_PRODUCTION", "DJANGO_SETTINGS_MODULE", "OMP_NUM_THREADS", "NUMEXPR_MAX_THREADS")  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if k not in dropped}
        self.env.update(TRACKROOM_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", TRACKROOM_DEVICE="cpu")
        self.proc: subprocess.Popen | None = None
        self._passwords: dict[str, str] = {}
        self._tokens: dict[str, str] = {}

    def manage(self, *args: str) -> str:
        out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True)
        assert out.returncode == 0, f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
        return out.stdout

    def start(self) -> None:
        self.manage("migrate", "--noinput")
        login = re.search(r"Login: (\S+) / (\S+)", self.manage("bootstrap"))
        assert login, "bootstrap printed no login"
        self._passwords["admin"] = login.group(2)
        for name in USERS:
            self._passwords[name] = f"pw-{name}-Trackroom1"
        script = "from django.contrib.auth import get_user_model as g\nU=g()\n" + "".join(
            f"U.objects.filter(username='{n}').exists() or U.objects.create_user('{n}', password='{p}')\n"
            for n, p in self._passwords.items() if n != "admin"
        )  # fmt: skip
        self.manage("shell", "-c", script)
        self.proc = subprocess.Popen(
            [str(Path(PY).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "trackroom.asgi:application"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "server exited:\n" + self.log.read_text()
            try:
                if requests.get(self.url + "/accounts/login/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("server did not come up:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def password(self, user: str) -> str:
        return self._passwords[user]

    def token(self, user: str) -> str:
        if user not in self._tokens:
            r = requests.post(self.url + "/api/auth/token/", json={"username": user, "password": self.password(user)})
            assert r.status_code == 200, r.text
            self._tokens[user] = r.json()["token"]
        return self._tokens[user]

    def api(self, method: str, path: str, json=None, user: str = "admin", files=None, data=None, timeout=120):
        """One API call as `user` (token auth). Returns (status, parsed JSON body or raw bytes)."""
        r = requests.request(
            method, self.url + path, json=json, files=files, data=data, timeout=timeout,
            headers={"Authorization": f"Token {self.token(user)}"},
        )  # fmt: skip
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, r.content

    def create_project(self, name: str, *, labels=({"name": "person", "shape": "box"},), members=(), video=None,
                       user: str = "admin") -> dict:
        """A project made through the API as `user`: its labels (dicts for the labels API), members
        ((username, role) pairs) and, given a path, one uploaded video. Returns {"project", "labels"
        (name -> label), "video"}."""
        status, project = self.api("POST", "/api/projects/", json={"name": name}, user=user)
        assert status == 201, project
        base = f"/api/projects/{project['id']}"
        made = {}
        for body in labels:
            status, label = self.api("POST", f"{base}/labels/", json=body, user=user)
            assert status == 201, label
            made[label["name"]] = label
        for username, role in members:
            status, body = self.api("POST", f"{base}/members/", json={"username": username, "role": role}, user=user)
            assert status == 201, body
        uploaded = None
        if video is not None:
            with Path(video).open("rb") as fh:
                status, uploaded = self.api("POST", f"{base}/videos/", files={"file": (Path(video).name, fh)}, user=user)
            assert status == 201, uploaded
        return {"project": project, "labels": made, "video": uploaded}

    def wait_job(self, job_id: int, user: str = "admin", timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, job = self.api("GET", f"/api/jobs/{job_id}/", user=user)
            assert status == 200, job
            if job["status"] in ("done", "failed", "cancelled"):
                return job
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} not finished after {timeout} s: {job}")
