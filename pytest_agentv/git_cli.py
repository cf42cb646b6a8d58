"""Reading a results branch through the ``git`` command line, when git is on PATH (read only).

A first index of 100k commits spent most of its time inflating commits in Python. One
``git log --first-parent -z`` process does the walk in C and streams ``(sha, raw message)``
pairs, which :mod:`pytest_agentv.index_rows` turns into rows without an object per commit; one
``git cat-file --batch`` process reads many files. Every failure (no git, an old git, a
repository git cannot read, unexpected output) is a :class:`GitCliError`, and the caller uses
the pure-Python reader instead: that one stays the reference, and both give the same rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

_CHUNK = 1 << 20

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class GitCliError(RuntimeError):
    """The git command line could not answer; read with the pure-Python reader instead."""


def find_git() -> str | None:
    """The ``git`` executable on PATH, or None."""
    return shutil.which("git")


def _widen_pipe(descriptor: int) -> None:
    """Let git write up to a megabyte ahead of the reader (Linux; elsewhere the pipe's own
    size): git walks on one core while this process parses and inserts on another, instead of
    stopping each time the reader is busy."""
    size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(descriptor, size, _CHUNK)


def _environment() -> dict[str, str]:
    # the repository is named explicitly: a GIT_DIR, GIT_OBJECT_DIRECTORY or GIT_CONFIG_* of
    # the caller's shell must not make git read another repository than the store would
    return {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}


class GitCli:
    """One repository (its git directory), read through the ``git`` executable."""

    def __init__(self, git_dir: Path, executable: str) -> None:
        self.git_dir = git_dir
        self.executable = executable

    def _command(self, *args: str) -> list[str]:
        # replace refs would make git show other commits than the objects hold; a pager or a
        # signature check would add output
        return [
            self.executable,
            "--no-pager",
            "--no-replace-objects",
            f"--git-dir={self.git_dir}",
            *args,
        ]

    def first_parent(self, tip: str, stop_at: str | None = None) -> Iterator[tuple[str, bytes]]:
        """``(sha, raw message)`` along first parents from ``tip``, newest first, before
        ``stop_at`` (the same walk as the store's; git stops as soon as this does)."""
        command = self._command(
            "log",
            "--first-parent",
            "--no-show-signature",
            "--encoding=none",  # the message bytes as stored, never re-encoded
            "-z",
            "--format=%H%x00%B",
            tip,
            "--",
        )
        with tempfile.TemporaryFile() as errors:  # a file, not a pipe: git never waits on it
            yield from self._stream(command, errors, stop_at)

    def _stream(
        self, command: list[str], errors: IO[bytes], stop_at: str | None
    ) -> Iterator[tuple[str, bytes]]:
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=_environment(),
            )
        except OSError as exc:
            raise GitCliError(f"cannot run git: {exc}") from None
        assert process.stdout is not None
        stdout = process.stdout
        descriptor = stdout.fileno()
        _widen_pipe(descriptor)
        stop = stop_at.encode("ascii") if stop_at else None
        finished = False
        try:
            rest = b""
            while chunk := os.read(descriptor, _CHUNK):
                fields = (rest + chunk).split(b"\0")
                rest = fields.pop()  # the unfinished field
                if len(fields) % 2:  # a sha whose message has not arrived yet
                    rest = fields.pop() + b"\0" + rest
                for at in range(0, len(fields), 2):
                    sha = fields[at]
                    if sha == stop:
                        return
                    if len(sha) != 40:  # a NUL in a message, or output this does not expect
                        raise GitCliError(f"unexpected git log output near {sha[:60]!r}")
                    yield sha.decode("ascii"), fields[at + 1]
            if rest:
                raise GitCliError(f"git log output ends in the middle of a commit: {rest[:60]!r}")
            finished = True
        except UnicodeDecodeError:
            raise GitCliError("git log printed a commit id that is not hex") from None
        finally:
            if not finished and process.poll() is None:
                process.kill()
            process.wait()
            stdout.close()
        if process.returncode != 0:
            errors.seek(0)
            message = errors.read().decode("utf-8", "replace").strip()
            raise GitCliError(f"git log failed ({process.returncode}): {message}")

    def read_files(self, specs: Sequence[str]) -> list[bytes | None]:
        """The blobs ``<commit>:<path>`` of ``specs``, in order (None where there is no file),
        from one ``git cat-file --batch`` process."""
        if not specs:
            return []
        if any("\n" in spec for spec in specs):
            raise GitCliError("a path with a newline cannot be read through git cat-file")
        try:
            done = subprocess.run(
                self._command("cat-file", "--batch"),
                input="".join(f"{spec}\n" for spec in specs).encode("utf-8"),
                capture_output=True,
                env=_environment(),
                check=False,
            )
        except OSError as exc:
            raise GitCliError(f"cannot run git: {exc}") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip()
            raise GitCliError(f"git cat-file failed ({done.returncode}): {message}")
        return _parse_batch(done.stdout, len(specs))


def _parse_batch(output: bytes, count: int) -> list[bytes | None]:
    """Parse ``git cat-file --batch`` output: per spec ``<sha> <type> <size>\\n<data>\\n``,
    or ``<spec> missing``."""
    found: list[bytes | None] = []
    at = 0
    for _ in range(count):
        end = output.find(b"\n", at)
        if end < 0:
            raise GitCliError("git cat-file output ended early")
        header = output[at:end].split(b" ")
        at = end + 1
        if len(header) == 3 and header[2].isdigit():
            size = int(header[2])
            data = output[at : at + size]
            if len(data) != size or output[at + size : at + size + 1] != b"\n":
                raise GitCliError("git cat-file output ended inside an object")
            at += size + 1
            found.append(data if header[1] == b"blob" else None)
        else:  # "<spec> missing", "<spec> ambiguous": no such file
            found.append(None)
    return found
