"""The home folder: where one installation keeps its settings (`.env`), database and backups.

Staff type commands from anywhere; what they act on must not depend on that. So every relative path
in the settings is resolved against one home, found the same way by the bot and by every command:
`--home DIR`, else `KHUYENHOC_HOME`, else the nearest folder holding a `.env` from the current
folder up, else the current folder (a checkout run with `make run`). `khuyenhoc init` makes one.
"""

from __future__ import annotations

import os
import pwd
import re
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

HOME_VARIABLE = "KHUYENHOC_HOME"
ENV_FILE = ".env"
DATABASE_FILE = "khuyenhoc.sqlite3"
HOME_MODE = 0o750  # root's; the service's group passes through to read .env
PRIVATE_FOLDER = 0o700  # data/ and backups/: the service's alone (members' data and secrets)


class HomeError(ValueError):
    """The home given cannot be used; `source` says where it was given (--home, KHUYENHOC_HOME)."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def find_home(
    given: Path | None = None, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path:
    """The home folder, as an absolute path (see the module docstring for the order)."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    from_env = (environ.get(HOME_VARIABLE) or "").strip()
    for source, value in (("--home", given), (HOME_VARIABLE, from_env or None)):
        if value is None:
            continue
        home = Path(os.path.abspath(cwd / Path(value).expanduser()))
        if not home.is_dir():
            raise HomeError(source, f"no such folder {home} (make one: khuyenhoc init --home DIR)")
        return home
    for folder in (cwd, *cwd.parents):
        if (folder / ENV_FILE).is_file():
            return folder
    return cwd


def shipped(name: str) -> Path | None:
    """A file or folder shipped with the code: beside `bot/` in a checkout (or an editable
    install), else in the data folder a wheel installs (`<prefix>/share/khuyenhoc`)."""
    candidates = [Path(__file__).resolve().parent.parent / name]
    for prefix in (sysconfig.get_path("data"), sys.prefix):
        candidates.append(Path(prefix) / "share" / "khuyenhoc" / name)
    return next((path for path in candidates if path.exists()), None)


def bundled_content() -> Path | None:
    """The campaign content a fresh install starts from (a folder with its campaign.yaml)."""
    folder = shipped("content")
    return folder if folder is not None and (folder / "campaign.yaml").is_file() else None


# --- making a home -------------------------------------------------------------------------------

# Without the shipped template (an unusual install) `.env` still gets what a home needs.
_MINIMAL_ENV = """\
# khuyenhoc-bot settings (see README "Configuration").
TELEGRAM_BOT_TOKEN=
ADMIN_IDS=
DATABASE_PATH=
BACKUP_DIR=
"""


@dataclass
class Owner:
    """Who a home is made for: the service's user; the settings stay the administrator's."""

    uid: int
    gid: int

    @classmethod
    def parse(cls, user: str) -> Owner:
        """A user name or a numeric uid (a uid without a name gets the group of the same id)."""
        if user.isdigit():
            try:
                return cls(int(user), pwd.getpwuid(int(user)).pw_gid)
            except KeyError:
                return cls(int(user), int(user))
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise HomeError("--user", f"no such user {user!r}") from None
        return cls(entry.pw_uid, entry.pw_gid)


@dataclass
class InitReport:
    """What `init` did, for the person who ran it."""

    home: Path
    env_file: Path
    env_written: bool
    created: list[Path] = field(default_factory=list)


def env_text(home: Path) -> str:
    """The `.env` of a new home: the shipped `.env.example` with the home's absolute paths."""
    template = shipped(".env.example")
    text = template.read_text(encoding="utf-8") if template is not None else _MINIMAL_ENV
    values = {
        "DATABASE_PATH": home / "data" / DATABASE_FILE,
        "BACKUP_DIR": home / "backups",
    }
    for name, value in values.items():
        text, found = re.subn(rf"(?m)^{name}=.*$", f"{name}={value}", text)
        if not found:
            text += f"{name}={value}\n"
    return text


def init_home(home: Path, owner: Owner | None = None) -> InitReport:
    """Make `home` a home: data/ and backups/ (the only folders the bot writes), and a `.env` with
    absolute paths. An existing `.env` is never overwritten. With `owner` (run as root), data/ and
    backups/ belong to the service's user, while the home and `.env` stay root's, readable by the
    service's group: the bot can write its data but not rewrite its own settings."""
    home = Path(os.path.abspath(home))
    report = InitReport(home, home / ENV_FILE, env_written=False)
    for folder in (home, home / "data", home / "backups"):
        if not folder.is_dir():
            folder.mkdir(mode=HOME_MODE if folder == home else PRIVATE_FOLDER, parents=True)
            report.created.append(folder)
    try:
        # O_EXCL: a .env that appears meanwhile is not overwritten either.
        fd = os.open(report.env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(env_text(home))
        report.env_written = True
    if owner is not None:
        _hand_over(report, owner)
    return report


def _hand_over(report: InitReport, owner: Owner) -> None:
    for folder in (report.home / "data", report.home / "backups"):
        os.chown(folder, owner.uid, owner.gid)
        folder.chmod(PRIVATE_FOLDER)
    if report.home in report.created:  # a home made beforehand keeps its owner
        os.chown(report.home, 0, owner.gid)
    if report.env_written:  # an existing .env keeps the owner and mode its administrator chose
        os.chown(report.env_file, 0, owner.gid)
        report.env_file.chmod(0o640)
