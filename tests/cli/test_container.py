"""The container image as an operator builds and runs it: `podman build` of the Dockerfile, the container started
(as a non-root user, its database in the /data volume), /healthz answered and the image's HEALTHCHECK passing.

Skipped, with the reason, where no container engine can build and run here: no `podman`, no base image (the
Dockerfile's `python:3.12-slim` comes from a registry this machine may not reach; PRAKERJA_TEST_BASE_IMAGE or a
local `localhost/prakerja-pybase:bookworm` stands in), or an engine that cannot start containers. Where this
sandbox needs it, the engine runs with `runc` and without default ulimits (crun refuses hybrid cgroups, and
setrlimit is not permitted)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.auxil.cluster import free_port
from tests.cli.processes import ROOT

IMAGE = "localhost/asisten-prakerja:test"
BASES = ("docker.io/library/python:3.12-slim", "localhost/prakerja-pybase:bookworm")
BUILD_WITHIN_S = 600
HEALTHY_WITHIN_S = 60


def _podman(tmp: Path) -> list[str]:
    conf = tmp / "containers.conf"
    conf.write_text("[containers]\ndefault_ulimits = []\n")
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    return ["env", f"CONTAINERS_CONF={os.environ.get('CONTAINERS_CONF', conf)}", "podman", *runtime]


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    if shutil.which("podman") is None:
        pytest.skip("no container engine: podman is not installed (apt-get install podman runc)")
    podman = _podman(tmp_path_factory.mktemp("podman"))
    wanted = os.environ.get("PRAKERJA_TEST_BASE_IMAGE")
    bases = [wanted] if wanted else [b for b in BASES if _run([*podman, "image", "exists", b], 30).returncode == 0]
    if not bases:
        pytest.skip(f"no base image: none of {', '.join(BASES)} is here and no registry can be reached to pull one"
                    " (set PRAKERJA_TEST_BASE_IMAGE)")
    probe = _run([*podman, "run", "--rm", "--network", "host", bases[0], "python3", "-c", "print(1)"], 120)
    if probe.returncode != 0:
        pytest.skip(f"podman cannot run containers here: {probe.stderr.strip().splitlines()[-1:]}")
    build = _run([*podman, "build", "--format", "docker", "--network", "host", "--build-arg", f"BASE={bases[0]}",
                  "-t", IMAGE, str(ROOT)], BUILD_WITHIN_S)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    yield podman


def test_the_image_serves_healthz_as_a_user_of_its_own(engine: list[str]) -> None:
    port = free_port()
    name = f"prakerja-test-{port}"
    settings = {"NIK_PEPPER": "container-pepper-0123456789", "HOST": "127.0.0.1", "PORT": str(port),
                "WHATSAPP_TOKEN": "token", "WHATSAPP_PHONE_ID": "1", "WHATSAPP_APP_SECRET": "secret",
                "WHATSAPP_VERIFY_TOKEN": "verify", "WHATSAPP_API_URL": "http://127.0.0.1:9/v21.0"}
    env = [arg for key, value in settings.items() for arg in ("-e", f"{key}={value}")]
    started = _run([*engine, "run", "-d", "--name", name, "--network", "host", *env, IMAGE], 120)
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + HEALTHY_WITHIN_S
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if answer.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, _run([*engine, "logs", name], 30).stderr
            time.sleep(0.5)
        assert answer.json()["ok"] is True
        assert _run([*engine, "healthcheck", "run", name], 60).returncode == 0  # the Dockerfile's HEALTHCHECK
        assert _run([*engine, "exec", name, "id", "-u"], 30).stdout.strip() != "0"  # not root
        files = _run([*engine, "exec", name, "ls", "/data"], 30).stdout.split()
        assert "prakerja.sqlite3" in files  # the database in the volume
        assert _run([*engine, "stop", "-t", "20", name], 60).returncode == 0
        logs = _run([*engine, "logs", name], 30)
        assert "Traceback" not in logs.stdout + logs.stderr
    finally:
        _run([*engine, "rm", "-f", name], 60)
