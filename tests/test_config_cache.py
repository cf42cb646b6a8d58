"""The read commands' cache of ``.agentv/config.yaml``'s validated values: hits skip PyYAML and
pydantic, and any edit of the file (even one keeping its size and mtime) is a miss."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_agentv.config_cache import CACHE_NAME
from pytest_agentv.options import SettingsError
from pytest_agentv.settings import resolve_settings

CONFIG = "artifacts:\n  backend: git\n  git:\n    branch: results/aaaa\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".agentv").mkdir()
    (tmp_path / ".agentv" / "config.yaml").write_text(CONFIG)
    return tmp_path


def cache_file(project: Path) -> Path:
    return project / ".agentv" / "cache" / CACHE_NAME


def rewrite_keeping_stat(path: Path, text: str) -> None:
    """Replace the file's text with ``text`` of the same length and the same mtime (to the
    nanosecond): what an editor saving twice within a second can leave."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_a_hit_gives_the_validated_values(project: Path) -> None:
    first = resolve_settings(project, redaction=False)
    assert (first.backend, first.branch) == ("git", "results/aaaa")
    assert json.loads(cache_file(project).read_text())["values"] == {
        "backend": "git",
        "branch": "results/aaaa",
    }
    again = resolve_settings(project, redaction=False)
    assert again == first
    # the same values and sources as a session resolves; only the redaction rules are left out
    full = resolve_settings(project)
    assert (full.backend, full.branch, full.sources) == (again.backend, again.branch, again.sources)
    assert full.redaction is not None and again.redaction is None


def test_a_hit_imports_neither_yaml_nor_pydantic(project: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from pytest_agentv.settings import "
        "resolve_settings; s = resolve_settings(Path(sys.argv[1]), redaction=False); "
        "print(s.branch, 'yaml' in sys.modules, 'pydantic' in sys.modules)"
    )

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", script, str(project)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run() == "results/aaaa True True"  # a miss validates the file
    assert run() == "results/aaaa False False"  # a hit does not


def test_an_edit_keeping_size_and_mtime_is_a_miss(project: Path) -> None:
    config = project / ".agentv" / "config.yaml"
    assert resolve_settings(project, redaction=False).branch == "results/aaaa"
    rewrite_keeping_stat(config, CONFIG.replace("aaaa", "bbbb"))
    assert resolve_settings(project, redaction=False).branch == "results/bbbb"


def test_an_invalid_edit_is_reported_despite_the_cache(project: Path) -> None:
    config = project / ".agentv" / "config.yaml"
    resolve_settings(project, redaction=False)
    rewrite_keeping_stat(config, CONFIG.replace("backend: git", "backend: gyt"))
    with pytest.raises(SettingsError, match="backend"):
        resolve_settings(project, redaction=False)
    with pytest.raises(SettingsError, match="backend"):  # and the error was not cached away
        resolve_settings(project, redaction=False)


def test_a_cache_entry_for_other_code_is_a_miss(project: Path) -> None:
    resolve_settings(project, redaction=False)
    entry = json.loads(cache_file(project).read_text())
    entry["values"]["branch"] = "results/forged"
    cache_file(project).write_text(json.dumps(entry))
    assert resolve_settings(project, redaction=False).branch == "results/forged"  # a hit
    entry["key"][-1] += 1  # the validators' size, as if options.py had changed
    cache_file(project).write_text(json.dumps(entry))
    assert resolve_settings(project, redaction=False).branch == "results/aaaa"


def test_an_unusable_cache_is_ignored(project: Path) -> None:
    cache_file(project).parent.mkdir(parents=True)
    cache_file(project).write_text("{not json")
    assert resolve_settings(project, redaction=False).branch == "results/aaaa"
    assert json.loads(cache_file(project).read_text())["values"]["branch"] == "results/aaaa"
