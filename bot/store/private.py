"""What the bot writes is its own: files only its user may read (0600), folders only it may enter
(0700).

The database keeps members' data and, in `meta`, the Zalo tokens and the webhook secret; backups
are copies of it and exports are cut from it. So the database and its -wal/-shm files, backups,
safety copies, exports and the run lock are created private, whatever umask the process was
started with (the unit sets UMask=0077 too), and a file an older version made readable to others
loses that access when the bot opens it.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_OTHERS = 0o077  # group and world permission bits


def folder(path: Path) -> Path:
    """`path` and any missing folders above it, made 0700. A folder that exists keeps its mode:
    `khuyenhoc init` or the administrator chose it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for made in reversed(missing):
        made.mkdir(mode=FOLDER_MODE, exist_ok=True)
    return path


def file(path: Path) -> Path:
    """`path` created empty if missing, 0600; an existing one loses any access of others."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & _OTHERS:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def database(path: Path) -> Path:
    """A database file and the -wal/-shm files beside it, private. SQLite gives the -wal and
    -shm files it creates the database file's mode, so a private database keeps them private."""
    folder(path.parent)
    file(path)
    for suffix in ("-wal", "-shm"):
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            file(companion)
    return path


def write(path: Path, data: bytes) -> Path:
    """Write `data` to `path` (an export, a chart) as a private file, its folder made if missing."""
    folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        if os.fstat(fd).st_mode & _OTHERS:
            os.fchmod(fd, FILE_MODE)
        out.write(data)
    return path
