"""The ``collabscope`` command line: thin wrappers that parse flags and call the library.

Commands live in small modules by step of the data flow (pipeline, data, review, ...);
each registers itself on :data:`app`. Shared behaviour lives in :mod:`.common`: the
``--db`` option, settings (flag > env > config file > default), progress bars that stay
quiet without a TTY, one-line summaries and the exit codes documented in the README:

    0 ok · 1 error · 2 usage / configuration · 3 finished, but some documents failed ·
    130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import sys

from extractor.cli.common import app, console_err

# Register commands (import for side effects, in the order --help lists them).
# isort: off
from extractor.cli import collect  # noqa: E402,F401
from extractor.cli import pipeline  # noqa: E402,F401
from extractor.cli import data  # noqa: E402,F401
from extractor.cli import review  # noqa: E402,F401
from extractor.cli import queue  # noqa: E402,F401
from extractor.cli import audit  # noqa: E402,F401
from extractor.cli import llm  # noqa: E402,F401
from extractor.cli import evaluate  # noqa: E402,F401
from extractor.cli import report  # noqa: E402,F401
# isort: on

# A module can register commands before its turn (pipeline imports llm's shared options,
# which registers `costs`): list them by the import order above, then as registered.
_MODULE_ORDER = [m.__name__ for m in (collect, pipeline, data, review, queue, audit, llm, evaluate, report)]
app.registered_commands.sort(key=lambda c: _MODULE_ORDER.index(c.callback.__module__)
                             if c.callback and c.callback.__module__ in _MODULE_ORDER else len(_MODULE_ORDER))


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="collabscope")
    except KeyboardInterrupt:
        console_err.print("[yellow]interrupted[/]: everything finished so far is saved; re-run to resume")
        sys.exit(130)


__all__ = ["app", "main"]
