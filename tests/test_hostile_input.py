"""Hostile configuration and input: a clear error or a safe display, never a traceback or a hang."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_agentv.options import check_branch
from tests.cli_support import agentv, write_local
from tests.runs import make_run

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
artifacts: {backend: *i}
"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"artifacts:\n  backend: caf\xe9\n", "not UTF-8 text (byte b'\\xe9' at offset 25)"),
        (BOMB.encode(), "aliases (*name) expand it to more than 10000 values"),
    ],
)
def test_a_hostile_config_file_is_a_usage_error(
    pytester: pytest.Pytester, content: bytes, message: str
) -> None:
    (pytester.path / ".agentv").mkdir()
    (pytester.path / ".agentv" / "config.yaml").write_bytes(content)
    pytester.makepyfile("def test_one():\n    pass\n")

    result = pytester.runpytest_subprocess("-p", "no:xdist", timeout=60)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert message in output
    assert len(output) < 5000  # the expanded value is never embedded


@pytest.mark.parametrize(
    "name",
    ["x.lock/y", "HEAD", "a/.hidden", "runs/v1.lock", "a..b", "-x", "a/b.", "a//b", "@", "a b"],
)
def test_branch_names_follow_gits_component_rules(name: str) -> None:
    if name not in ("@", "HEAD"):  # `--branch` expands these two to the current branch
        refused_by_git = subprocess.run(
            ["git", "check-ref-format", "--branch", name], capture_output=True, check=False
        ).returncode
        assert refused_by_git
    with pytest.raises(ValueError, match="is not a valid git branch name"):
        check_branch(name)


@pytest.mark.parametrize("name", ["agentv/checkpoints/v1", "ok.lock.x", "feature/v1.0", "a-b_c"])
def test_good_branch_names_pass(name: str) -> None:
    assert check_branch(name) == name


def test_a_huge_latest_offset_is_a_plain_error(tmp_path: Path) -> None:
    write_local(tmp_path, [make_run()])
    result = agentv(tmp_path, "show", "latest~99999999999999999999")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "OverflowError" not in result.stderr
    assert "fewer than" in result.stderr


def test_recorded_escape_sequences_are_shown_escaped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_one(agentv):
            agentv.message("assistant", "\\x1b]0;owned\\x07\\x1b[2Jclean\\u202eevil")
        """
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)

    shown = agentv(pytester.path, "show", "latest", "--transcript")

    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\u202e" not in shown.stdout
    assert "\\x1b]0;owned\\x07\\x1b[2Jclean\\u202eevil" in shown.stdout
