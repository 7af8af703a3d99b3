"""The module boundaries of the design card, checked by import-linter on every test run.

The contracts live in pyproject.toml ([tool.importlinter]): the library never imports
Streamlit or the review UI, library modules do not depend on the CLI or dev tools, and the
review pages hold no SQL of their own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is missing: install the test extra (pip install -e '.[test]')")
    return exe


def test_import_contracts_are_kept() -> None:
    proc = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout
    assert proc.stdout.count("KEPT") >= 3


def test_a_broken_contract_is_detected(tmp_path: Path) -> None:
    """The check can fail: a config forbidding something the code does import must break."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["extractor"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "store without sqlite_utils (deliberately false)"\n'
        'type = "forbidden"\nsource_modules = ["extractor.store"]\nforbidden_modules = ["extractor.migrations"]\n'
    )
    proc = subprocess.run([_lint_imports(), "--no-cache", "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "BROKEN" in proc.stdout, proc.stdout[-2000:]
