"""docker/compose.yaml and the Dockerfiles match the project's real entry points. Docker does not run
on the CI machines, so this parses the files and checks them against the code: the ASGI application
daphne is told to serve exists, the worker command's options are ones ``manage.py worker`` accepts,
every service has a healthcheck, the worker reserves a GPU and scales with replicas, and the settings
the containers get are the variables trackroom/settings.py reads."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def command_words(service: dict) -> list[str]:
    command = service["command"]
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2])
    return words


def module_defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        for node in tree.body
    )


def test_services_and_images(compose):
    services = compose["services"]
    assert set(services) == {"web", "worker", "postgres", "redis"}
    assert re.fullmatch(r"postgres:\d+[-\w]*", services["postgres"]["image"])
    assert re.fullmatch(r"redis:\d+[-\w]*", services["redis"]["image"])
    for name in ("web", "worker"):
        build = services[name]["build"]
        dockerfile = (DOCKER / build["context"] / build["dockerfile"]).resolve()
        assert dockerfile == DOCKER / f"Dockerfile.{name}" and dockerfile.is_file()
        assert (DOCKER / build["context"]).resolve() == ROOT
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_web_serves_the_asgi_application_with_daphne(compose):
    words = command_words(compose["services"]["web"])
    joined = " ".join(words)
    assert "manage.py migrate --noinput" in joined
    daphne = words[words.index("daphne") :]
    target = daphne[-1]
    module, attr = target.split(":")
    assert (module, attr) == ("trackroom.asgi", "application")
    assert module_defines(ROOT / (module.replace(".", "/") + ".py"), attr)
    assert daphne[daphne.index("-b") + 1] == "0.0.0.0" and daphne[daphne.index("-p") + 1] == "8000"
    assert compose["services"]["web"]["ports"] == ["${TRACKROOM_PORT:-8000}:8000"]
    web_dockerfile = (DOCKER / "Dockerfile.web").read_text()
    assert "daphne -b 0.0.0.0 -p 8000 trackroom.asgi:application" in web_dockerfile
    assert "download.pytorch.org/whl/cpu" in web_dockerfile


def test_worker_command_is_accepted_by_manage_py_worker(compose):
    from labeling.management.commands.worker import Command

    worker = compose["services"]["worker"]
    words = command_words(worker)
    assert words[:3] == ["python", "manage.py", "worker"]
    options = Command().create_parser("manage.py", "worker").parse_args(words[3:])
    assert options.threads == 1 and options.device == "cuda:0" and options.processes == 1
    dockerfile = (DOCKER / "Dockerfile.worker").read_text()
    assert re.search(r"^FROM nvidia/cuda:\S+", dockerfile, re.M)
    assert re.search(r"download\.pytorch\.org/whl/cu\d+ torch==", dockerfile)
    assert 'CMD ["python", "manage.py", "worker", "--threads", "1", "--device", "cuda:0"]' in dockerfile


def test_worker_gets_one_gpu_per_replica_and_scales(compose):
    deploy = compose["services"]["worker"]["deploy"]
    assert str(deploy["replicas"]).startswith("${TRACKROOM_WORKERS")
    (device,) = deploy["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["count"] == 1 and device["capabilities"] == ["gpu"]


def test_environment_points_at_the_compose_services_and_real_settings(compose):
    services = compose["services"]
    settings_source = (ROOT / "trackroom" / "settings.py").read_text()
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert re.fullmatch(r"postgres://trackroom:\S+@postgres:5432/trackroom", env["DATABASE_URL"])
        for variable in env:
            assert f'"{variable}"' in settings_source, f"{variable} is not read by trackroom/settings.py"
        assert "trackroom-data:/data" in services[name]["volumes"]  # videos: written by web, read by workers
        depends = services[name]["depends_on"]
        assert all(d["condition"] == "service_healthy" for d in depends.values())
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "trackroom"
    assert "${POSTGRES_PASSWORD" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]


def test_worker_healthcheck_looks_for_the_heartbeat_key_the_worker_writes(compose):
    import socket

    from labeling.jobs import liveness

    test = compose["services"]["worker"]["healthcheck"]["test"]
    key = liveness.KEY_PREFIX + liveness.worker_id()  # what a worker with the default prefix writes
    assert key.startswith("trackroom:worker:") and key.split(":")[2] == socket.gethostname()
    assert "'trackroom:worker:*'" in test[-1] and "socket.gethostname()" in test[-1]
    ast.parse(test[-1])  # the inline script is valid Python
    ast.parse(compose["services"]["web"]["healthcheck"]["test"][-1])
