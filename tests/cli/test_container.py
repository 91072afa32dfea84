"""The container set-up (spec §10), tested as far as this machine can without a container
runtime: the Dockerfile's build steps (copy the sources it copies, build the wheel, install it
into a clean virtual environment, run `loyalty --version` and `loyalty db upgrade`), and
compose.yaml's commands and variables against the real CLI and settings."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import yaml

from loyalty.cli import cli
from slackapp.settings import ENV_FILE_VARIABLE, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}  # compose interpolation, documented in .env.example
SETTINGS = {name.upper() for name in Settings.model_fields}


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def app_services() -> dict[str, dict]:
    return {
        name: svc
        for name, svc in compose()["services"].items()
        if svc.get("build") or str(svc.get("image", "")).startswith("loyalty-okrs")
    }


def resolve(args: list[str]) -> click.Command:
    """The CLI command `loyalty ARGS` runs; its options must be the command's own."""
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    assert not isinstance(command, click.Group), f"`loyalty {' '.join(args)}` is not a command"
    known = {opt for p in command.params for opt in getattr(p, "opts", [])}
    for arg in rest:
        if arg.startswith("--"):
            assert arg in known, f"`loyalty {' '.join(args)}`: {arg} is not an option"
    ctx = command.make_context("loyalty", rest, resilient_parsing=False)
    assert ctx is not None
    return command


def test_compose_runs_existing_commands_with_known_settings():
    services = app_services()
    assert {"migrate", "web", "scheduler"} <= set(services)
    commands = {name: svc["command"] for name, svc in services.items()}
    assert commands["migrate"] == ["db", "upgrade"]
    assert commands["web"][0] == "serve" and commands["scheduler"] == ["scheduler"]
    for svc in services.values():
        resolve(svc["command"])
        for name in svc.get("environment", {}):
            assert name in SETTINGS, f"compose.yaml sets {name}, which is not a setting"
    web = services["web"]
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    port = commands["web"][commands["web"].index("--port") + 1]
    assert f"127.0.0.1:{port}/healthz" in " ".join(web["healthcheck"]["test"])
    for name in ("web", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    db = compose()["services"]["db"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    # Interpolated variables are settings or documented compose-only ones.
    for name in re.findall(r"\$\{(\w+)", (ROOT / "compose.yaml").read_text(encoding="utf-8")):
        assert name in SETTINGS | COMPOSE_ONLY


def test_env_example_lists_every_setting_and_nothing_unknown():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.M))
    assert listed >= SETTINGS, f"missing from .env.example: {sorted(SETTINGS - listed)}"
    assert listed <= SETTINGS | COMPOSE_ONLY, f"unknown: {sorted(listed - SETTINGS)}"
    assert ENV_FILE_VARIABLE in text  # explained, though it cannot be set inside the file


def dockerfile_build_copies() -> list[str]:
    """The sources the Dockerfile's build stage copies (COPY lines before the second FROM)."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    build_stage = (
        text.split("\nFROM ", 2)[0] if text.startswith("FROM") else text.split("\nFROM ")[1]
    )
    sources = []
    for line in build_stage.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            sources += shlex.split(line)[1:-1]
    return sources


def test_dockerfile_is_multi_stage_non_root_with_loyalty_entrypoint():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert len(re.findall(r"^FROM ", text, flags=re.M)) == 2
    runtime = text.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER (?!root)\w+", runtime, flags=re.M)
    assert 'ENTRYPOINT ["loyalty"]' in runtime
    assert "COPY --from=build /opt/loyalty /opt/loyalty" in runtime
    assert "pip install" not in runtime and "apt-get" not in runtime  # runtime deps only
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".git", "tests"} <= set(ignored)


def test_image_install_steps_build_install_and_migrate(tmp_path):
    """What the Dockerfile's build stage does, in a clean venv; then what `migrate` runs."""
    src = tmp_path / "src"
    src.mkdir()
    sources = dockerfile_build_copies()
    assert {"pyproject.toml", "loyalty", "storage"} <= set(sources)
    for name in sources:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, src / name)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), "."],
        cwd=src,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("loyalty_okrs-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    loyalty = venv / "bin" / "loyalty"
    run_dir = tmp_path / "data"
    run_dir.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{run_dir / 'l.db'}"}
    version = subprocess.run(
        [loyalty, "--version"], cwd=run_dir, env=env, capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("loyalty, version "), version
    upgraded = subprocess.run(
        [loyalty, "db", "upgrade"],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert "up to date" in upgraded.stdout and (run_dir / "l.db").exists()
    # The installed copy ran, not this checkout.
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import storage; print(storage.__file__)"],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert str(venv) in where.stdout and str(ROOT) not in where.stdout
