"""The module floors of docs/DEVELOPING.md, checked by import-linter on every test run.

The contracts live in pyproject.toml ([tool.importlinter]): an exhaustive layers contract
that places every module of the library on a floor, no import cycles at any depth, only the
store imports SQLite, the library never imports the UI, and nothing below the command line
imports the dev tools or terminal UI libraries. The tests below also show that each kind of
breach is caught, on a copy of the tree with one deliberate fault.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("extractor", "review_ui", "devtools")


def _lint_imports() -> str:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is missing: install the test extra (pip install -e '.[test]')")
    return exe


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH puts the tree in `cwd` ahead of the editable install of the checkout.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([_lint_imports(), "--no-cache", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """A copy of the packages and pyproject.toml, to break on purpose."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_import_contracts_are_kept() -> None:
    proc = _run(ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout
    assert proc.stdout.count("KEPT") >= 6, proc.stdout[-2000:]


def test_the_copy_of_the_tree_is_clean(tree_copy: Path) -> None:
    """The faults below are the only difference: the unmodified copy passes."""
    proc = _run(tree_copy)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_module_outside_the_floors_is_refused(tree_copy: Path) -> None:
    (tree_copy / "extractor" / "stray.py").write_text('"""A module nobody placed on a floor."""\n')
    proc = _run(tree_copy)
    assert proc.returncode != 0
    assert "stray" in proc.stdout + proc.stderr


BREACHES = {
    # name: (file in the copy, line appended, what lint-imports must name)
    "upward-import": ("extractor/store/base.py", "\nfrom extractor.review import queue as _upward  # noqa\n",
                      "extractor.store.base -> extractor.review.queue"),
    "lazy-cycle": ("extractor/resolve/entries.py", "\ndef _cycle():\n    from extractor.resolve import resolver  # noqa\n",
                   "No cycles are allowed in extractor.resolve"),
    "sql-outside-the-store": ("extractor/aggregate/policy.py", "\nimport sqlite3  # noqa\n",
                              "extractor.aggregate.policy -> sqlite3"),
}


@pytest.mark.parametrize("breach", sorted(BREACHES))
def test_each_kind_of_breach_is_refused(tree_copy: Path, breach: str) -> None:
    path, line, named = BREACHES[breach]
    target = tree_copy / path
    target.write_text(target.read_text() + line)
    proc = _run(tree_copy)
    assert proc.returncode != 0
    assert named in proc.stdout, proc.stdout[-3000:]


def test_a_broken_contract_is_detected(tmp_path: Path) -> None:
    """The check can fail: a config forbidding something the code does import must break."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["extractor"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "store without migrations (deliberately false)"\n'
        'type = "forbidden"\nsource_modules = ["extractor.store.database"]\nforbidden_modules = ["extractor.store.migrations"]\n'
    )
    proc = subprocess.run([_lint_imports(), "--no-cache", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "BROKEN" in proc.stdout, proc.stdout[-2000:]
