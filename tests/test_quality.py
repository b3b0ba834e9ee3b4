"""The code checks every change must pass, run by the test suite so that `uv run pytest`
enforces them: one test per check, each a command run on the whole repository.

To add a check, add its command to CHECKS."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# name: the command, run in the repository's root with this interpreter's environment.
CHECKS: dict[str, list[str]] = {
    "ruff-check": [sys.executable, "-m", "ruff", "check", "."],
    "ruff-format": [sys.executable, "-m", "ruff", "format", "--check", "."],
}


@pytest.mark.parametrize("command", CHECKS.values(), ids=CHECKS.keys())
def test_the_code_passes(command: list[str]) -> None:
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, (
        f"`{' '.join(command[2:])}` found problems:\n{done.stdout}{done.stderr}"
    )
