"""The deploy files start: they agree with the home `khuyenhoc init` makes and with each other, and
the bot runs as the unit runs it (an unprivileged user who may write only data/ and backups/)."""

from __future__ import annotations

import asyncio
import fnmatch
import io
import os
import pwd
import re
import shlex
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import aiohttp
import pytest
import yaml
from dotenv import dotenv_values

from bot.config import Settings
from bot.home import env_text
from fakes.bot_api import FakeBotAPI, FakeUser
from tests.conftest import ROOT, free_port

DEPLOY = ROOT / "deploy"


# --- the files agree -----------------------------------------------------------------------------


def unit() -> dict[str, list[str]]:
    """deploy/khuyenhoc.service as key -> values (systemd allows a key more than once)."""
    entries: dict[str, list[str]] = {}
    for line in (DEPLOY / "khuyenhoc.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def dockerfile() -> tuple[dict[str, str], dict[str, str]]:
    """(ENV values, last value of every other instruction) of deploy/Dockerfile."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    env: dict[str, str] = {}
    instructions: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))
        else:
            instructions[word] = rest.strip()
    return env, instructions


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["bot"]


def _stream(text: str) -> io.StringIO:
    return io.StringIO(text)


def unit_home() -> Path:
    [home] = [v.split("=", 1)[1] for v in unit()["Environment"] if v.startswith("KHUYENHOC_HOME=")]
    return Path(home)


def test_the_unit_writes_only_the_home_init_makes():
    entries, home = unit(), unit_home()
    settings = Settings.from_mapping(dotenv_values(stream=_stream(env_text(home))), home=home)
    writable = {Path(p.removeprefix("-")) for v in entries["ReadWritePaths"] for p in v.split()}
    assert writable == {settings.database_path.parent, settings.backup_dir}
    assert all(p.startswith("-") for v in entries["ReadWritePaths"] for p in v.split())
    assert entries["ProtectSystem"] == ["strict"]
    # The settings are the home's .env, read by the bot itself or handed over whole.
    assert entries.get("EnvironmentFile", [str(home / ".env")]) == [str(home / ".env")]
    assert "78" in entries["RestartPreventExitStatus"][0].split()
    assert entries["UMask"] == ["0077"]  # what the bot creates is its user's alone
    [start] = entries["ExecStart"]
    program = Path(start.split()[0])
    assert start.split()[1:] == ["run"] and program.name == "khuyenhoc"
    assert not any(program.is_relative_to(p) for p in writable)  # the code stays read-only
    [user] = entries["User"]
    install = (DEPLOY / "khuyenhoc.service").read_text()
    assert f"{program} init --home {home} --user {user}" in install
    assert f"useradd --system --home-dir {home}" in install


def test_the_container_keeps_its_home_on_the_volume_and_listens_outside():
    env, instructions = dockerfile()
    home = Path(env["KHUYENHOC_HOME"])
    assert yaml.safe_load(instructions["VOLUME"]) == [str(home)]
    user = instructions["USER"]
    run = instructions["RUN"]
    assert f"useradd --system --uid 10001 --home-dir {home}" in " ".join(run.split())
    assert f"khuyenhoc init --home {home} --user {user}" in run  # the user owns data/, backups/
    assert "COPY pyproject.toml README.md .env.example ./" in (DEPLOY / "Dockerfile").read_text()
    port = env["WEBHOOK_PORT"]
    assert f"127.0.0.1:{port}/healthz" in instructions["HEALTHCHECK"]

    # docker run --env-file .env: the file (from .env.example) wins over the image's ENV.
    example = dotenv_values(ROOT / ".env.example")
    settings = Settings.from_mapping({**env, **example}, home=home)
    assert settings.http_host == "0.0.0.0"
    assert settings.database_path.is_relative_to(home) and settings.backup_dir is None


def test_compose_pins_the_home_paths_and_address_over_the_env_file():
    env, instructions = dockerfile()
    service = compose()
    [volume] = service["volumes"]
    name, target = volume.split(":")
    assert name in yaml.safe_load((DEPLOY / "compose.yaml").read_text())["volumes"]
    assert target == env["KHUYENHOC_HOME"] == yaml.safe_load(instructions["VOLUME"])[0]
    assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    environment = {k: str(v) for k, v in service["environment"].items()}
    assert environment["KHUYENHOC_HOME"] == target
    assert environment["WEBHOOK_HOST"] == "0.0.0.0"
    [port] = service["ports"]
    assert port.endswith(f":{environment['WEBHOOK_PORT']}")

    # Whatever the .env says (here: an init'ed laptop home), `environment` wins over `env_file`.
    laptop = dotenv_values(stream=_stream(env_text(Path("/home/lan/khuyenhoc"))))
    merged = {**env, **laptop, "WEBHOOK_HOST": "127.0.0.1", **environment}
    settings = Settings.from_mapping(merged, home=Path(target))
    assert settings.database_path.is_relative_to(target)
    assert settings.backup_dir is not None and settings.backup_dir.is_relative_to(target)
    assert settings.http_host == "0.0.0.0"


def test_the_readme_deploys_as_the_unit_says():
    readme = (ROOT / "README.md").read_text()
    deploying = readme[readme.index("## Deploying") :]
    steps = deploying[deploying.index("```sh") + 5 : deploying.index("```\n")]
    readme_steps = {" ".join(line.split()) for line in steps.splitlines() if line.strip()}
    comments = (DEPLOY / "khuyenhoc.service").read_text().split("[Unit]")[0].splitlines()
    unit_steps = {
        " ".join(line[1:].split())
        for line in comments
        if line.startswith("#   ") and not line.startswith("#   (")
    }
    unit_steps = {step for step in unit_steps if not step.startswith("runuser")}
    assert unit_steps <= readme_steps, unit_steps - readme_steps
    assert "deploy/compose.yaml" in deploying and "khuyenhoc-home" in deploying


def test_a_wheel_ships_all_the_content():
    """A non-editable install (the unit's, the image's) has no checkout beside the code: the
    default content and init's template come from pyproject's data-files."""
    import tomllib

    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"
    ]
    patterns = [p for globs in data_files.values() for p in globs]
    shipped = [
        path.relative_to(ROOT).as_posix()
        for path in [ROOT / ".env.example", *(ROOT / "content").rglob("*")]
        if path.is_file()
    ]
    missing = [f for f in shipped if not any(fnmatch.fnmatchcase(f, p) for p in patterns)]
    assert missing == []


# --- the bot runs as the unit runs it ------------------------------------------------------------


def _unused_id() -> int:
    for candidate in range(47_000, 48_000):
        try:
            pwd.getpwuid(candidate)
        except KeyError:
            return candidate
    pytest.skip("no unused uid between 47000 and 48000")


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="runs the bot as a throwaway user: needs root and setpriv (util-linux)",
)


async def _as(
    uid: int, *args: str, env: dict[str, str], cwd: Path, log
) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` as `uid`, no other group, with the unit's environment."""
    return await asyncio.create_subprocess_exec(
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=log,
    )


@needs_root
async def test_the_unit_starts_as_an_unprivileged_user_writing_only_its_home(tmp_path):
    uid = _unused_id()
    # Outside pytest's own temporary folder, which only root may enter.
    base = Path(tempfile.mkdtemp(prefix="khuyenhoc-unit-"))
    base.chmod(0o755)
    home = base / "var-lib-khuyenhoc"
    try:
        made = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "init", "--home", str(home), "--user", str(uid)),
            stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
        )
        _, problems = await asyncio.wait_for(made.communicate(), 60)
        assert made.returncode == 0, problems.decode()
        for path, owner, mode in (
            (home, (0, uid), 0o750),
            (home / ".env", (0, uid), 0o640),
            (home / "data", (uid, uid), 0o700),
            (home / "backups", (uid, uid), 0o700),
        ):
            info = path.stat()
            assert ((info.st_uid, info.st_gid), info.st_mode & 0o777) == (owner, mode), path
        await _run_and_back_up(home, uid, base / "bot.log")
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def _run_and_back_up(home: Path, uid: int, log_path: Path) -> None:
    port = free_port()
    env = {
        # What the unit sets, and the user's HOME (useradd --home-dir): nothing else of ours.
        "KHUYENHOC_HOME": str(home),
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),  # this checkout's code; root's folder, only readable to the user
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    async with FakeBotAPI() as fake:
        with (home / ".env").open("a") as settings:  # the administrator fills in the settings
            settings.write(
                f"TELEGRAM_BOT_TOKEN={fake.token}\nTELEGRAM_API_URL={fake.base_url}\n"
                f"WEBHOOK_PORT={port}\n"
            )
        with log_path.open("wb") as log:
            bot = await _as(uid, "run", env=env, cwd=home, log=log)
            try:
                await fake.wait_for(lambda: bool(fake.calls_to("getUpdates")), timeout=30)
                fake.user_sends(FakeUser(id=77), "/start")
                await fake.wait_for_messages(77, 1, timeout=15)
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"http://127.0.0.1:{port}/healthz") as answer,
                ):
                    assert answer.status == 200, await answer.text()
                database = home / "data" / "khuyenhoc.sqlite3"
                assert database.stat().st_uid == uid
                for made in (home / "data").iterdir():  # the database, -wal, -shm, lock
                    assert made.stat().st_mode & 0o777 == 0o600, made

                backup = await _as(uid, "backup", env=env, cwd=home, log=log)
                assert await asyncio.wait_for(backup.wait(), 60) == 0, log_path.read_text()
                [copy] = (home / "backups").glob("manual-*.sqlite3")
                assert copy.stat().st_uid == uid
                assert copy.stat().st_mode & 0o777 == 0o600  # it holds the same secrets
            finally:
                if bot.returncode is None:
                    bot.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(bot.wait(), 60)
    assert code == 0, log_path.read_text()
    # Nothing written beside the settings: the home holds what init made, and the bot's files
    # only in data/.
    assert sorted(p.name for p in home.iterdir()) == [".env", "backups", "data"]
    assert {p.name for p in (home / "data").iterdir()} >= {"khuyenhoc.sqlite3"}
