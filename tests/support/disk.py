"""Small real filesystems for the disk-error tests: a tmpfs of a few pages that can be filled or made
read-only, so the kernel itself returns ENOSPC and EROFS (root cannot be stopped by file modes)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from support import unavailable


def _as_root(*command: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 and shutil.which("sudo"):
        command = ("sudo", "-n", *command)
    return subprocess.run(command, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def small_tmpfs(directory: Path, size_kb: int = 64) -> Iterator[Path]:
    """A tmpfs of ``size_kb`` mounted on ``directory`` (created), owned by the test's user."""
    directory.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kb}k,mode=0700,uid={os.getuid()},gid={os.getgid()}"
    mounted = _as_root("mount", "-t", "tmpfs", "-o", options, "edge-lstm-test", str(directory))
    if mounted.returncode != 0:
        unavailable(f"mounting a tmpfs ({mounted.stderr.strip()})", "run the tests as root or with sudo -n")
    try:
        yield directory
    finally:
        _as_root("umount", "-l", str(directory))


def read_only(directory: Path) -> None:
    """Remount the tmpfs on ``directory`` read-only."""
    result = _as_root("mount", "-o", "remount,ro", str(directory))
    if result.returncode != 0:
        raise RuntimeError(f"cannot remount {directory} read-only: {result.stderr.strip()}")


def fill(directory: Path) -> Path:
    """Take every free byte of the filesystem on ``directory`` with one file; returns it."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:  # tmpfs hands out whole pages: the first write that finds none fails
            handle.write(b"\0" * 4096)
    return filler
