"""The README's run command, tried as a new user would: it serves the app, prints the URL and a
login, and a browser-like client can log in and see the demo project with the imported video."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_command_serves_login_and_demo_project(tmp_path, moving_boxes_clip):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # the embedded default
    env.update(TRACKROOM_DATA_DIR=str(tmp_path / "data"), TRACKROOM_PORT=str(port))
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "run"), str(moving_boxes_clip.path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 180
        while time.time() < deadline:
            assert proc.poll() is None, Path(log.name).read_text()
            try:
                urllib.request.urlopen(base + "/accounts/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("server did not come up:\n" + Path(log.name).read_text())

        output = Path(log.name).read_text()
        assert f"http://127.0.0.1:{port}/" in output
        login = re.search(r"Login: (\S+) / (\S+)", output)
        assert login, output
        username, password = login.groups()

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = opener.open(base + "/accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        def post_login(pw: str) -> str:
            body = urllib.parse.urlencode(
                {"username": username, "password": pw, "csrfmiddlewaretoken": token, "next": "/"}
            ).encode()
            request = urllib.request.Request(base + "/accounts/login/", data=body, headers={"Referer": base + "/"})
            return opener.open(request).read().decode()

        assert "didn't match" in post_login("wrong password")
        home = post_login(password)
        assert "Demo project" in home
        assert "1 video" in home  # the clip given on the command line was imported
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
