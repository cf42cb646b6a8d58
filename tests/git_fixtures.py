"""Fixtures that start real git servers (git daemon, git http-backend) on 127.0.0.1.

Loaded for the whole suite by the root conftest. Everything is real git: bare remotes made with
``git init --bare``, a ``git daemon --enable=receive-pack`` and a smart-HTTP server running
``git http-backend`` as CGI (optionally behind Basic auth). Use :func:`git` to cross-check.

Fixtures:
    git_env        isolated git configuration (no user/system config leaks into tests)
    source_repo    a work tree with one commit on ``main``: the user's project
    bare_remote    a fresh bare repository (``main`` as its HEAD), by path
    make_bare_remote  factory for more bare repositories
    git_daemon     a running ``git daemon`` (:class:`GitDaemon`), repositories under its base
    http_remote    a running smart-HTTP server (:class:`HttpGitServer`)
    ssh_server     a running OpenSSH ``sshd`` (:class:`SshServer`) with a key for the client
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.system_packages import ensure_program

HTTP_BACKEND = Path("/usr/lib/git-core/git-http-backend")
SSHD = Path("/usr/sbin/sshd")


def git(
    *args: str,
    cwd: Path | str | None = None,
    check: bool = True,
    input_text: str | None = None,
    **env: str,
) -> str:
    """Run the git CLI and return its stdout (stripped); raise with stderr on failure."""
    completed = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input_text,
        env={**os.environ, **env} if env else None,
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


def init_bare(path: Path, initial_branch: str = "main") -> Path:
    """``git init --bare`` at ``path`` with ``initial_branch`` as its HEAD."""
    git("init", "--quiet", "--bare", f"--initial-branch={initial_branch}", str(path))
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME and no system config, so neither the machine's nor the developer's git
    configuration (identity, insteadOf, credential helpers) leaks into a test. Returns HOME."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for name in (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_CONFIG_GLOBAL",
        "GIT_SSH_COMMAND",
        "GIT_SSH",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def source_repo(tmp_path: Path, git_env: Path) -> Path:
    """The user's project: a git work tree on ``main`` with one commit (``README.md``) and a
    local ``user.name``/``user.email`` (``Eval Author <author@example.com>``)."""
    root = tmp_path / "project"
    root.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    git("config", "user.name", "Eval Author", cwd=root)
    git("config", "user.email", "author@example.com", cwd=root)
    (root / "README.md").write_text("# project\n")
    git("add", "README.md", cwd=root)
    git("commit", "--quiet", "-m", "Initial commit", cwd=root)
    return root


@pytest.fixture
def make_bare_remote(tmp_path: Path, git_env: Path) -> Any:
    """Factory: ``make_bare_remote(name="runs", initial_branch="main") -> Path``."""

    def make(name: str = "runs", initial_branch: str = "main") -> Path:
        return init_bare(tmp_path / "remotes" / f"{name}.git", initial_branch)

    return make


@pytest.fixture
def bare_remote(make_bare_remote: Any) -> Path:
    """A fresh bare repository (HEAD -> main, no commits), addressed by path."""
    path: Path = make_bare_remote()
    return path


class GitDaemon:
    """A ``git daemon`` exporting every repository under ``base`` with push enabled."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (or restart, on the same port) the daemon and wait until it listens."""
        self.process = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--enable=receive-pack",
                "--export-all",
                f"--base-path={self.base}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # `git daemon` forks git-daemon: stop() kills the group
        )
        _wait_for_port(self.port)

    def stop(self) -> None:
        """Kill the daemon (and so every connection it serves)."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def new_remote(self, name: str = "runs", initial_branch: str = "main") -> str:
        """Create a bare repository under the base and return its ``git://`` URL."""
        init_bare(self.base / f"{name}.git", initial_branch)
        return self.url(name)

    def url(self, name: str = "runs") -> str:
        """The ``git://`` URL of a repository under the base."""
        return f"git://127.0.0.1:{self.port}/{name}.git"

    def path(self, name: str = "runs") -> Path:
        """The directory of a repository under the base."""
        return self.base / f"{name}.git"


class SshServer:
    """OpenSSH's ``sshd`` on 127.0.0.1 accepting one key, and the ``GIT_SSH_COMMAND`` using it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.user = (
            os.environ.get("USER")
            or subprocess.run(
                ["id", "-un"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        self.client_key = base / "client_key"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Make the keys and config, start ``sshd -D`` and wait until it listens."""
        host_key = self.base / "host_key"
        for key in (host_key, self.client_key):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True
            )
        authorized = self.base / "authorized_keys"
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        config = self.base / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
            f"AuthorizedKeysFile {authorized}\nPidFile {self.base / 'sshd.pid'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "PermitRootLogin prohibit-password\nStrictModes no\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_port(self.port)

    def stop(self) -> None:
        """Stop sshd and every session it started."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    @property
    def ssh_command(self) -> str:
        """A ``GIT_SSH_COMMAND`` that logs in with the client key and trusts this host."""
        return (
            f"ssh -i {self.client_key} -o IdentitiesOnly=yes -o BatchMode=yes "
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
        )

    def url(self, path: Path) -> str:
        """``ssh://user@127.0.0.1:<port>/<absolute path>`` of a repository on this machine."""
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"


@pytest.fixture
def ssh_server(tmp_path: Path, git_env: Path) -> Iterator[SshServer]:
    """A running OpenSSH server on 127.0.0.1 (openssh-server is installed on first use)."""
    ensure_program(SSHD, "openssh-server")
    base = tmp_path / "sshd"
    base.mkdir()
    server = SshServer(base)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def git_daemon(tmp_path: Path, git_env: Path) -> Iterator[GitDaemon]:
    """A running ``git daemon --enable=receive-pack`` on 127.0.0.1 (stopped afterwards)."""
    base = tmp_path / "daemon"
    base.mkdir()
    daemon = GitDaemon(base)
    daemon.start()
    yield daemon
    daemon.stop()


class HttpGitServer:
    """Smart HTTP over ``git http-backend`` (CGI) on 127.0.0.1, in a thread.

    ``users`` turns on Basic auth (401 without valid credentials); ``deny_push`` answers 403 to
    every push; ``drop_pushes`` (a count) makes the next pushes fail mid-way: the server runs the
    push, then closes the connection without answering, as a server dying mid-push would.
    """

    def __init__(self, root: Path, users: dict[str, str] | None = None) -> None:
        self.root = root
        self.users = users or {}
        self.deny_push = False
        self.drop_pushes = 0
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                server.requests.append(f"{self.command} {self.path}")

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                push = "git-receive-pack" in self.path
                user = server.authenticate(self.headers.get("Authorization"))
                if user is None:
                    self._reply(401, b"auth required\n", {"WWW-Authenticate": 'Basic realm="git"'})
                    return
                if push and server.deny_push:
                    self._reply(403, b"pushes are forbidden\n")
                    return
                body = self._body()
                dropping = push and self.command == "POST" and server.drop_pushes > 0
                if dropping:
                    server.drop_pushes -= 1
                status, headers, payload = server.run_backend(self, user, body)
                if dropping:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._reply(status, payload, headers)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _reply(
                self, status: int, payload: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def authenticate(self, header: str | None) -> str | None:
        """The user a request is allowed as, or None to answer 401."""
        if not self.users:
            return "anonymous"
        if not header or not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.users.get(user) == password else None

    def run_backend(
        self, request: BaseHTTPRequestHandler, user: str, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Run ``git http-backend`` for one request; return status, headers and body."""
        path, _, query = request.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": user,  # http-backend only allows receive-pack to a known user
            "REMOTE_ADDR": "127.0.0.1",
            "REQUEST_METHOD": request.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for header in ("Content-Encoding", "Git-Protocol", "Accept"):
            if header in request.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = request.headers[header]
        completed = subprocess.run(
            [str(HTTP_BACKEND)], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = completed.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = completed.stdout.partition(b"\n\n")
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers[key.strip()] = value.strip()
        return status, headers, payload

    def new_remote(self, name: str = "runs", initial_branch: str = "main") -> str:
        """Create a bare repository under the root and return its URL (with credentials if
        the server has users: the first one)."""
        init_bare(self.root / f"{name}.git", initial_branch)
        return self.url(name)

    def url(self, name: str = "runs", user: str | None = None, password: str | None = None) -> str:
        """``http://[user:password@]127.0.0.1:<port>/<name>.git``; default: the first user."""
        if user is None and self.users:
            user, password = next(iter(self.users.items()))
        auth = f"{user}:{password}@" if user is not None else ""
        return f"http://{auth}127.0.0.1:{self.port}/{name}.git"

    def path(self, name: str = "runs") -> Path:
        """The directory of a repository under the root."""
        return self.root / f"{name}.git"

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_remote(tmp_path: Path, git_env: Path) -> Iterator[HttpGitServer]:
    """A running smart-HTTP git server (``git http-backend``) without auth."""
    if not HTTP_BACKEND.exists():
        pytest.skip("git http-backend is not installed")
    root = tmp_path / "http"
    root.mkdir()
    server = HttpGitServer(root)
    yield server
    server.stop()


@pytest.fixture
def http_auth_remote(tmp_path: Path, git_env: Path) -> Iterator[HttpGitServer]:
    """Like ``http_remote`` but requiring Basic auth as ``agent:s3cret-pass``."""
    if not HTTP_BACKEND.exists():
        pytest.skip("git http-backend is not installed")
    root = tmp_path / "http-auth"
    root.mkdir()
    server = HttpGitServer(root, users={"agent": "s3cret-pass"})
    yield server
    server.stop()


def copy_repo(source: Path, target: Path) -> Path:
    """A byte-for-byte copy of a repository directory (for before/after comparisons)."""
    shutil.copytree(source, target, symlinks=True)
    return target
