"""Shared CLI plumbing: the app, common options, settings, progress, errors, exit codes."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from extractor import __version__
from extractor.config import Settings, load_settings
from extractor.errors import CollabscopeError
from extractor.store import Store

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="collabscope",
    help=(
        "Who collaborates with whom in AI research: PDFs -> extracted, reviewed records -> "
        "defensible aggregates.\n\nQuick start: collabscope run papers/ && collabscope review"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

console_err = Console(stderr=True, highlight=False, soft_wrap=True)
console_out = Console(highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"collabscope {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """collabscope command line."""


DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar="COLLABSCOPE_DB",
        help="SQLite database file (env COLLABSCOPE_DB; default ./collabscope.db).",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", envvar="COLLABSCOPE_CONFIG", help="TOML config file (default ./collabscope.toml if present).", show_default=False),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary line.")]

F = TypeVar("F", bound=Callable[..., Any])


def command(name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
    """Register a command whose library errors become a clear message and an exit code."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kw: Any) -> Any:
            try:
                return func(*args, **kw)
            except CollabscopeError as exc:
                console_err.print(f"[bold red]error[/]: {exc}", markup=True, highlight=False)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                console_err.print("[yellow]interrupted[/]: everything finished so far is saved; re-run to resume")
                raise typer.Exit(EXIT_INTERRUPTED) from None

        app.command(name, **kwargs)(wrapper)
        return func

    return decorate


def settings_from(db: Path | None, config: Path | None = None, **flags: Any) -> Settings:
    return load_settings(config, db=db, **flags)


def open_store(settings: Settings, *, create: bool = True) -> Store:
    return Store.open(settings.db, create=create)


@contextlib.contextmanager
def progress(description: str, quiet: bool = False) -> Iterator[tuple[Callable[[int], None], Callable[..., None]]]:
    """A progress bar on stderr when it is a terminal; silent otherwise.

    Yields ``(set_total, advance)`` callbacks for the library's on_total/on_progress hooks.
    """
    enabled = not quiet and console_err.is_terminal
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console_err,
        disable=not enabled,
        transient=False,
    )
    with bar:
        task = bar.add_task(description, total=None, info="")

        def set_total(n: int) -> None:
            bar.update(task, total=n)

        def advance(*_: Any, info: str | None = None, **__: Any) -> None:
            if info is not None:
                bar.update(task, advance=1, info=info)
            else:
                bar.advance(task)

        yield set_total, advance


def summary(line: str, quiet: bool = False) -> None:
    """The one-line summary every command ends with (stderr, so stdout stays data)."""
    if not quiet:
        console_err.print(line, markup=True, highlight=False)


def fail_if_stdout_closed() -> None:  # pragma: no cover - defensive
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise typer.Exit(EXIT_OK) from None
