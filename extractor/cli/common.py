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
from rich.markup import escape
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
from extractor.errors import CollabscopeError, ConfigError
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
    rich_markup_mode=None,
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
                # escape: messages quote config sections such as [auth], which are not markup
                console_err.print(f"[bold red]error[/]: {escape(str(exc))}", markup=True, highlight=False)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                console_err.print("[yellow]interrupted[/]: everything finished so far is saved; re-run to resume")
                raise typer.Exit(EXIT_INTERRUPTED) from None

        app.command(name, **kwargs)(wrapper)
        return func

    return decorate


def settings_from(db: Path | None, config: Path | None = None, **flags: Any) -> Settings:
    return load_settings(config, db=db, **flags)


def require_db(settings: Settings) -> None:
    """Raise :class:`ConfigError` (exit 2) unless ``settings.db`` exists.

    Every command but ``run PATH``, ``ingest`` and ``collect`` reads what those stored, so a
    database that is not there is a typo in ``--db`` or ``COLLABSCOPE_DB``; creating an
    empty one would hide it.
    """
    if str(settings.db) != ":memory:" and not Path(settings.db).exists():
        raise ConfigError(f"database {settings.db} does not exist; check --db / COLLABSCOPE_DB, or create it "
                          "with `collabscope run PATH`")


def open_store(settings: Settings, *, create: bool = False) -> Store:
    """Open the settings' database; unless ``create``, it must exist (:func:`require_db`)."""
    if not create:
        require_db(settings)
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


def first_few(items: list[str], limit: int) -> tuple[list[str], str]:
    """The first ``limit`` items and a "+N more" note ("" when nothing was cut)."""
    rest = len(items) - limit
    return items[:limit], (f"+{rest} more" if rest > 0 else "")


def country_list(counts: list[tuple[str, int]], limit: int | None = None) -> str:
    """``US 8, CN 6, ... +N more``: most papers first, ties by code, so the line reads the
    same on every run; ``limit`` None lists every country."""
    ordered = sorted(counts, key=lambda kv: (-kv[1], kv[0]))
    shown, more = first_few([f"{c} {n:,}" for c, n in ordered], len(ordered) if limit is None else limit)
    return ", ".join(shown + ([more] if more else [])) or "none"


#: How many failed files a summary names before "+N more".
FAILED_SHOWN = 5


def print_failed(failures: list[tuple[str, str]], *, limit: int = FAILED_SHOWN,
                 hint: str = "`collabscope export --all` lists them all", console: Console | None = None) -> None:
    """Name failed files, ``(name, why)`` each: the first ``limit``, then "+N more" (stderr
    unless ``console``)."""
    console = console or console_err
    shown, more = first_few([f"  failed {name}: {why}" for name, why in failures], limit)
    for line in shown:
        console.print(line, markup=False, highlight=False)
    if more:
        console.print(f"  {more} ({hint})", markup=False, highlight=False)


def check_country(code: str, flag: str) -> str:
    """``code`` if it is an ISO 3166-1 alpha-2 code, else :class:`ConfigError` saying what is valid."""
    from extractor.schemas import VALID_COUNTRY_CODES, normalise_country_code

    fixed = normalise_country_code(code)
    if fixed not in VALID_COUNTRY_CODES:
        raise ConfigError(f"{flag}: {code!r} is not a country code; use ISO 3166-1 alpha-2 codes such as US, CN, GB, "
                          "DE, FR, JP, KR, IN, CA, TW, HK (UK is read as GB)")
    return fixed
