"""What every command shares: exit codes, the error console, output options and emitting a
result (render, store, exit code). Commands import these instead of repeating them."""

from __future__ import annotations

import re
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from provscan.errors import InputError, ProvscanError
from provscan.model import ScanResult
from provscan.report.events import NullObserver, RichProgressObserver, ScanObserver
from provscan.targets import TargetBlock, TargetSet

if TYPE_CHECKING:
    from rich.segment import Segment

    from provscan.fingerprints.service_probes import ServiceProbes
    from provscan.store.captures import Capture
    from provscan.store.cases import ReopenedCase
    from provscan.store.db import Store

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_RESTRICTED = 3
EXIT_DAMAGED_INPUT = 4
#: `provscan scan`: nothing answered where the store knows devices (the scan proves nothing)
EXIT_INCONCLUSIVE = 5
EXIT_INTERRUPTED = 130
#: A SIGTERM (`timeout`, systemd, a CI job cancelled), handled as a Ctrl-C: 128 + 15
EXIT_TERMINATED = 143

stderr = Console(stderr=True, soft_wrap=True)

#: Spaces that end a line (rich pads every cell and padded line to its width).
_TRAILING_SPACES = re.compile(r" +(?=\n)")


class OutputConsole(Console):
    """The console for a command's standard output. Where that is not a terminal (a pipe, a
    file), no line ends in spaces: rich pads table cells and padded text to their widths,
    which ``grep ' $'``, ``diff`` and editors then trip over. Only what rich renders is
    trimmed: data written to :attr:`file` directly (JSON, CSV) is left exactly as it is."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        rendered = super()._render_buffer(buffer)
        return rendered if self.is_terminal else _TRAILING_SPACES.sub("", rendered)


def output_console(**options: Any) -> OutputConsole:
    """The console every command prints its report to (``options`` as for rich's Console;
    ``soft_wrap`` off unless given: tables are laid out to the width themselves)."""
    options.setdefault("soft_wrap", False)
    return OutputConsole(**options)


#: An exit code and what it means for one command (see :func:`exit_codes`).
ExitCode = tuple[int, str]

#: ``--help`` ends are read on 80-column terminals; click indents the epilog by two.
HELP_WIDTH = 78


def exit_codes(
    *,
    stores_scan: bool = False,
    partial: bool = False,
    fail_on_restricted: bool = False,
    damaged_input: bool = False,
) -> list[ExitCode]:
    """The exit codes of a command: ``stores_scan`` for those that store the scan they print
    (stored first, so kept when the output fails), ``partial`` for those that print and store
    what they learned when interrupted, ``fail_on_restricted`` for those with that option,
    ``damaged_input`` for those that read what they can of a damaged input file."""
    runtime = "runtime error (message on stderr), or the output pipe closed early (| head)"
    if stores_scan:
        runtime += ": the scan is stored before it is printed, so it is kept all the same"
    codes: list[ExitCode] = [
        (EXIT_OK, "done"),
        (EXIT_ERROR, runtime),
        (EXIT_USAGE, "bad argument, or an input file that is missing or unreadable"),
    ]
    if fail_on_restricted:
        codes.append(
            (EXIT_RESTRICTED, "a restricted item was found and --fail-on-restricted was given")
        )
    if damaged_input:
        codes.append(
            (
                EXIT_DAMAGED_INPUT,
                "an input was cut short or damaged: what was read before the damage is "
                "printed and stored, marked incomplete (--fail-on-restricted's 3 comes first)",
            )
        )
    interrupted = "interrupted (Ctrl-C)"
    if partial:
        interrupted += ": what was learned is printed and stored, marked incomplete"
    codes.append((EXIT_INTERRUPTED, interrupted))
    codes.append(
        (EXIT_TERMINATED, "stopped by SIGTERM (timeout, systemd, a CI job cancelled): as 130")
    )
    return codes


def _shell_words(command: str) -> list[str]:
    """``command`` split at the spaces outside quotes (the quotes kept)."""
    words: list[str] = []
    current = ""
    quote = ""
    for char in command:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == " ":
            if current:
                words.append(current)
            current = ""
            continue
        current += char
    if current:
        words.append(current)
    return words


def wrap_example(example: str, width: int = HELP_WIDTH) -> list[str]:
    """One ``--help`` example as lines of at most ``width`` (indent included): a long one is
    continued with `` \\`` between words (an option stays with its value), as it would be
    typed in a shell; a note in parentheses set off by spaces after it moves closer, or ends
    the last line."""
    if len(example) + 2 <= width:
        return [f"  {example}"]
    match = re.fullmatch(r"(.*?\S)\s{2,}(\([^()]*\))", example)
    command, note = (match.group(1), f"   {match.group(2)}") if match else (example, "")
    if note and len(command) + len(note) + 2 <= width:
        return [f"  {command}{note}"]
    groups: list[str] = []
    for word in _shell_words(command):
        option = groups[-1] if groups else ""
        if option.startswith("-") and " " not in option and not word.startswith("-"):
            groups[-1] = f"{option} {word}"  # an option and its value
        else:
            groups.append(word)
    groups[-1] += note
    lines: list[str] = []
    line = f"  {groups[0]}"
    for group in groups[1:]:
        if len(line) + 1 + len(group) + len(" \\") > width:
            lines.append(f"{line} \\")
            line = f"      {group}"
        else:
            line += f" {group}"
    return [*lines, line]


def _code_lines(codes: Sequence[ExitCode], width: int) -> list[str]:
    lines = ["Exit codes:"]
    for code, meaning in codes:
        wrapped = textwrap.wrap(
            meaning.replace("| head", "|\xa0head"),
            width,
            initial_indent=f"  {code:<5}",
            subsequent_indent=" " * 7,
            break_on_hyphens=False,
        )
        lines += [line.replace("\xa0", " ") for line in wrapped]
    return lines


def epilog(
    *examples: str,
    codes: Sequence[ExitCode] | None = None,
    stores_scan: bool = False,
    partial: bool = False,
    fail_on_restricted: bool = False,
    damaged_input: bool = False,
) -> str:
    """The end of a command's ``--help``: examples, then the exit codes (``codes``, else
    :func:`exit_codes` of the other keywords), every line fitting an 80-column terminal
    (``\\b`` keeps click from re-wrapping them)."""
    if codes is None:
        codes = exit_codes(
            stores_scan=stores_scan,
            partial=partial,
            fail_on_restricted=fail_on_restricted,
            damaged_input=damaged_input,
        )
    lines = [line for example in examples for line in wrap_example(example)]
    listing = "\n".join(_code_lines(codes, HELP_WIDTH))
    return "\b\nExamples:\n" + "\n".join(lines) + f"\n\n\b\n{listing}"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class UsageProblem(InputError):
    """A bad argument value discovered after parsing (exit 2)."""


# -- options shared by scan, demo, discover and pcap ----------------------------------------

PolicyOption = Annotated[
    str | None,
    typer.Option(
        "--policy",
        metavar="IDS",
        help="Comma-separated policy ids (default: all bundled). See `provscan policies`.",
    ),
]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="JURISDICTION:ORGTYPE[,...]",
        help=(
            "Who you are, e.g. ca:federal-institution or us:federal-contractor,us-tx:state-agency: "
            "each finding says whether its measure binds you, and only those make a device "
            "restricted (default: [organisation] as in the config file, else a national "
            "government body; 'all': every measure counts, whatever the config). See "
            "`provscan policies --as-types`."
        ),
    ),
]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        "-f",
        metavar="table|json|jsonl|csv",
        help="Output format (default: from the --output file's suffix, else table).",
    ),
]
F = TypeVar("F", bound=StrEnum)

#: ``--output`` suffixes that choose the format when ``--format`` is not given.
SUFFIX_FORMATS = {
    ".json": OutputFormat.json,
    ".jsonl": OutputFormat.jsonl,
    ".ndjson": OutputFormat.jsonl,
    ".csv": OutputFormat.csv,
    ".txt": OutputFormat.table,
}
#: Report formats only ``provscan report`` writes (a scan's -o x.pdf would be a text file).
REPORT_SUFFIXES = frozenset({".html", ".htm", ".pdf", ".xlsx"})


def format_from_suffix(
    fmt: F | None,
    output: Path | None,
    formats: Mapping[str, F],
    default: F,
    refused: Callable[[Path, str], str | None],
) -> F:
    """The format asked for (``-f``), else the one the ``--output`` file's suffix names in
    ``formats``, else ``default``. ``refused(output, suffix)`` says why a suffix cannot be
    written (None: it can), refused with exit 2 before any work rather than a file whose
    name lies about what is in it. Shared by every command that writes an ``--output``."""
    if fmt is not None:
        return fmt
    if output is None or str(output) == "-":
        return default
    suffix = output.suffix.lower()
    problem = refused(output, suffix)
    if problem is not None:
        raise UsageProblem(problem)
    return formats.get(suffix, default)


def _report_suffix(output: Path, suffix: str) -> str | None:
    if suffix not in REPORT_SUFFIXES:
        return None
    return (
        f"--output {output}: {suffix[1:].upper()} reports are written by `provscan report` "
        "from a stored scan; here give -f table|json|jsonl|csv or a .txt, .json, .jsonl or "
        ".csv file name"
    )


def output_format(fmt: OutputFormat | None, output: Path | None) -> OutputFormat:
    """The format asked for, else the one the ``--output`` file's suffix names (``x.json``:
    JSON), else the table. A suffix of a report only ``provscan report`` writes is refused
    (exit 2) before any work, rather than a text table written under that name."""
    return format_from_suffix(fmt, output, SUFFIX_FORMATS, OutputFormat.table, _report_suffix)


OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", metavar="FILE", help="Write the report to this file (never an input)."
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an existing --output file (without it an existing file is refused).",
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="FILE|URL",
        help="Database file or URL (default: provscan.db in the user data dir).",
    ),
]
NoDbOption = Annotated[bool, typer.Option("--no-db", metavar="", help="Do not store the result.")]
FailOnRestrictedOption = Annotated[
    bool,
    typer.Option(
        "--fail-on-restricted", metavar="", help="Exit 3 when a restricted device is found."
    ),
]
SiteOption = Annotated[
    str | None,
    typer.Option(
        "--site",
        metavar="NAME",
        help="Site the scan belongs to, for the inventory (addresses are per site).",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress bar.")]
NmapFallbackOption = Annotated[
    bool,
    typer.Option(
        "--nmap-fallback/--no-nmap-fallback",
        help=(
            "For a device no provscan rule attributes, read its replies with nmap's service "
            "probes (nmap-service-probes of your nmap installation; nothing more is sent). "
            "What they name is low-certainty evidence, marked 'nmap fallback'. On when nmap's "
            "data is installed."
        ),
    ),
]


def nmap_fallback(enabled: bool) -> ServiceProbes | None:
    """nmap's service probes from the user's installation when ``enabled`` and installed; a
    file that cannot be read is a warning (the scan goes on without the fallback)."""
    if not enabled:
        return None
    from provscan.fingerprints.service_probes import installed_service_probes

    try:
        return installed_service_probes()
    except (OSError, ValueError) as exc:
        warn(f"nmap fallback off: {exc}")
        return None


def wrap_words(text: str, width: int, *, indent: int = 2) -> list[str]:
    """``text`` as lines of at most ``width`` terminal cells (measured as rich measures them),
    broken between words, each line after the first ``indent`` spaces in (a hanging indent:
    a continued line is not read as a new message). A word is never split (an address, a
    path, a CVE id, a part number): one longer than a line gets a line of its own, wider
    than ``width``. The spaces inside a line are kept (aligned labels stay aligned)."""
    from rich.cells import cell_len

    lines: list[str] = []
    for paragraph in text.expandtabs().splitlines() or [""]:
        line = paragraph[: len(paragraph) - len(paragraph.lstrip())]
        words_on_line = 0
        for chunk in re.findall(r"\S+\s*", paragraph):
            if words_on_line and cell_len(line) + cell_len(chunk.rstrip()) > width:
                lines.append(line.rstrip())
                line, words_on_line = " " * indent, 0
            line += chunk
            words_on_line += 1
        lines.append(line.rstrip())
    return lines


def say(message: str, console: Console = stderr, *, indent: int = 2) -> None:
    """``message`` (never read as markup) wrapped to ``console``'s width between words with a
    hanging ``indent`` (:func:`wrap_words`): a summary or a note on stderr stays within the
    terminal, its identifiers whole."""
    for line in wrap_words(message, console.width, indent=indent):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """A one-line warning on stderr (its text, which may come from a file or a device, is never
    read as markup)."""
    stderr.print(f"[yellow]provscan: warning:[/] {escape(message)}", highlight=False)


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """Print a one-line error (device text is never read as markup) and return the exit."""
    stderr.print(f"[bold red]provscan: error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def fail_for(exc: ProvscanError) -> typer.Exit:
    """The one mapping of errors to exit codes: a bad input or argument is 2, the rest 1."""
    return fail(str(exc), EXIT_USAGE if isinstance(exc, InputError) else EXIT_ERROR)


def parse_policy_ids(policy: str | None) -> list[str] | None:
    """``"ca, us"`` -> ``["ca", "us"]``, checked against the bundled policies (exit 2 if unknown)."""
    from provscan.knowledge.loader import load_knowledge

    policy_ids = [p.strip() for p in policy.split(",") if p.strip()] if policy else None
    try:
        load_knowledge().select_policies(policy_ids)
    except ProvscanError as exc:
        raise UsageProblem(str(exc)) from exc
    return policy_ids


def resolve_acting_as(
    value: str | None, policy_ids: Sequence[str] | None = None, *, warn_unbound: bool = True
) -> tuple[str, ...]:
    """``--as`` (or, when not given, the config file's ``[organisation] as``) as checked org
    type ids; empty: the default reading (a national government body, decision 0015). A bad
    id or config file is exit 2.

    ``policy_ids``: the policies selected with ``--policy`` (None: all). An org
    type that no selected restricting measure binds gets a warning on standard error naming
    the policies that do (``--as ca-qc:public-body --policy ca`` would clear everything
    without a word)."""
    from provscan.config import load_config
    from provscan.knowledge.loader import load_knowledge
    from provscan.policy.evaluate import parse_acting_as, unbound_parties

    try:
        if value is not None:
            values: list[str] = value.split(",")
            if not any(part.strip() for part in values):
                raise UsageProblem("--as needs at least one org type (or 'all')")
        else:
            values = list(load_config().organisation.acting_as)
        knowledge = load_knowledge()
        parties = parse_acting_as(values, knowledge.policies.values())
        if warn_unbound and policy_ids:
            selected = knowledge.select_policies(policy_ids)
            for party, binding in unbound_parties(
                parties, selected, knowledge.policies.values()
            ).items():
                where = f"; add --policy {','.join(binding)}" if binding else ""
                warn(
                    f"no selected policy restricts anything for {party}: every verdict for "
                    f"it will be clear{where}"
                )
        return parties
    except UsageProblem:
        raise
    except ProvscanError as exc:
        raise UsageProblem(str(exc)) from exc


def target_files(specs: Iterable[str] | None) -> list[str]:
    """The ``@file`` lists named among target specs (they are inputs, never to be overwritten)."""
    files: list[str] = []
    for spec in specs or ():
        files.extend(part.strip()[1:] for part in spec.split(",") if part.strip().startswith("@"))
    return files


def guard_output(
    output: Path | None,
    inputs: Iterable[Path | str | None],
    db: str | None = None,
    *,
    force: bool = False,
) -> None:
    """Refuse (exit 2) an ``--output`` that names an input file or the database file, a
    directory, a file in a folder that does not exist, or (without ``--force``) a file that
    already exists: the user's own files are never replaced unasked.

    Called by every command before it does any work, so a mistake costs nothing.
    """
    from provscan.report.files import OutputIsInputError, check_output, is_special

    if db is None:
        from provscan.paths import default_db_path

        database: Path | str | None = default_db_path()  # the default store is an input too
    else:
        database = db if "://" not in db and db != ":memory:" else None
    try:
        check_output(output, [*inputs, database])
    except OutputIsInputError as exc:
        raise UsageProblem(str(exc)) from None
    if output is not None and str(output) != "-" and not is_special(output):
        if output.is_dir():
            raise UsageProblem(f"--output {output} is a directory; name a file")
        if not output.parent.is_dir():
            raise UsageProblem(f"--output {output}: the folder {output.parent} does not exist")
        if output.exists() and not force:
            raise UsageProblem(
                f"--output {output} already exists; give --force to replace it, or another name"
            )


def scan_observer(quiet: bool) -> ScanObserver:
    """A progress bar on a terminal, nothing otherwise."""
    if quiet or not sys.stderr.isatty():
        return NullObserver()
    return RichProgressObserver(stderr)


class Interrupts:
    """The Ctrl-Cs (SIGINT) that came while :func:`counting_interrupts` was active: each is
    counted, and none raises KeyboardInterrupt unless ``raise_at`` is set and the count has
    reached it. A KeyboardInterrupt raised at whatever bytecode runs could cut a store's
    transaction short in its Python code, or land in a garbage collector's callback, which
    swallows it with an "Exception ignored" traceback; a count is acted on where it is safe.

    ``stored``: the (scan id, database shown) :func:`emit` stored, for the one line that says
    the interruption (its "stored scan" line is left out then)."""

    def __init__(self) -> None:
        self.count = 0
        self.raise_at: int | None = None
        self.stored: tuple[str, str] | None = None

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1
        INTERRUPTS_RECEIVED.append(signum)
        if self.raise_at is not None and self.count >= self.raise_at:
            raise KeyboardInterrupt

    @contextmanager
    def raising_at(self, count: int) -> Iterator[None]:
        """Inside, the ``count``-th Ctrl-C raises KeyboardInterrupt at once (raised on entry
        when there have been as many already)."""
        self.raise_at = count
        try:
            if self.count >= count:
                raise KeyboardInterrupt
            yield
        finally:
            self.raise_at = None


@contextmanager
def counting_interrupts() -> Iterator[Interrupts]:
    """Count Ctrl-Cs instead of raising KeyboardInterrupt (see :class:`Interrupts`); the
    previous handler is back afterwards. A handler installed inside (``run_interruptibly``'s)
    takes over until it puts this one back. Outside the main thread, where Python delivers no
    signals, nothing is counted."""
    interrupts = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, interrupts)
    try:
        yield interrupts
    finally:
        signal.signal(signal.SIGINT, previous)


#: The scans :func:`emit` stored since the command started, for a Ctrl-C that comes after
#: the command's own handling of it, in the last moments of its run (``cli._Root``).
STORED_THIS_RUN: list[str] = []
#: The Ctrl-Cs the command's handlers received (``cli.main`` and :class:`Interrupts`): an
#: error that follows one is the interruption's doing (a library wraps the KeyboardInterrupt
#: raised inside it in an error of its own), said as the interruption.
INTERRUPTS_RECEIVED: list[int] = []


def say_interrupted(message: str) -> typer.Exit:
    """The one line that says a Ctrl-C stopped the command (``message`` after
    "provscan: interrupted"), and the exit to raise: 130, as for any program stopped by
    SIGINT."""
    stderr.print(f"provscan: interrupted{message}", highlight=False, markup=False)
    return typer.Exit(EXIT_INTERRUPTED)


def emit(
    result: ScanResult,
    fmt: OutputFormat,
    output: Path | None,
    db: str | None,
    no_db: bool,
    *,
    verbose: bool = False,
    site: str | None = None,
    coverage: Sequence[Sequence[str]] = (),
    command: str | None = None,
    interrupts: Interrupts | None = None,
    captures: Sequence[Capture] = (),
    again: bool = False,
) -> None:
    """Store the result unless ``no_db`` (at ``site``, with the address ranges it
    ``coverage``s: see :func:`provscan.store.inventory.coverage_ranges`; empty for captures
    and discovery; made from the capture files ``captures``, refused when stored before
    unless ``again``: :mod:`provscan.store.captures`), then render it (``verbose``: the
    table in full, titled by ``command``, default the result's kind, with the scan's id only
    when it was stored).

    Stored first, so that nothing is lost when the output cannot be written (a closed pipe,
    a full disk); a store that fails still gets the output rendered before its error. A
    JSON report is written as the store takes each device's contract entry, so that each
    entry is made once (:func:`_store_and_write_json`), with the same guarantees.

    ``interrupts``: the Ctrl-Cs counted since the results were gathered (a command's
    :func:`counting_interrupts`). None raises while the result is stored and a file
    written: the store's transaction ends committed, and a file is whole or as it was. The
    second stops what is printed to standard output after the store (KeyboardInterrupt);
    the stored scan is then left in ``interrupts.stored`` and not said here, as it is when
    any Ctrl-C came: the command says it in its one line.
    """
    from provscan.report.formats import table_title, write_output

    to_stdout = output is None or str(output) == "-"

    def printing() -> AbstractContextManager[None]:
        if interrupts is None or not to_stdout:
            return nullcontext()
        return interrupts.raising_at(2)

    check_site(db, no_db, site)  # before anything is stored or printed
    stored: list[tuple[str, str]] = []
    reopened: list[ReopenedCase] = []  # the cases the stored scan reopened
    failure: ProvscanError | None = None
    try:
        console = output_console()
        if not no_db and fmt is OutputFormat.json:
            failure = _store_and_write_json(
                result,
                None if to_stdout else output,
                console,
                db,
                site,
                coverage,
                stored,
                captures,
                again,
                reopened,
            )
        else:
            if not no_db:
                try:
                    stored.append(_store(result, db, site, coverage, captures, again, reopened))
                except ProvscanError as exc:
                    failure = exc
            title = table_title(result, command=command, stored=bool(stored))
            with printing():
                write_output(
                    result,
                    fmt.value,
                    None if to_stdout else output,
                    console,
                    verbose=verbose,
                    title=title,
                )
        if output is not None and str(output) != "-":
            from provscan.report.wording import plural

            restricted = sum(1 for device in result.devices if device.restricted)
            stderr.print(
                f"wrote {fmt.value} report to {escape(str(output))}: "
                f"{plural(len(result.devices), 'device')}, {restricted} restricted",
                highlight=False,
            )
    finally:
        STORED_THIS_RUN.extend(scan_id for scan_id, _ in stored)
        if interrupts is not None:
            interrupts.stored = stored[0] if stored else None
        for scan_id, where in stored if interrupts is None or not interrupts.count else ():
            say_stored(scan_id, where)
        # a warning, -q or not (-q leaves out the progress bar only): a device taken for
        # gone is back, or a finding fixed is back, and its case is open again
        for case in reopened:
            warn(reopened_line(case))
    if failure is not None:
        raise failure


#: Characters of a scan id the "stored scan" line shows: a prefix every command that asks
#: for a scan id accepts (six or more), as `provscan scans` shows it; the report has it whole.
SHOWN_SCAN_ID = 12


def say_stored(scan_id: str, where: str) -> None:
    """``stored scan 0b4a1c2d-3ef in /path/provscan.db`` on stderr, within the terminal's
    width: the id as its prefix, and ``in PATH`` on a line of its own when the line would not
    fit (the path is never broken)."""
    from rich.cells import cell_len

    head, tail = f"stored scan {scan_id[:SHOWN_SCAN_ID]}", f"in {where}"
    one = f"{head} {tail}"
    for text in [one] if cell_len(one) <= stderr.width else [head, f"  {tail}"]:
        stderr.print(text, style="dim", highlight=False, markup=False)


def _store_and_write_json(
    result: ScanResult,
    output: Path | None,
    console: Console,
    db: str | None,
    site: str | None,
    coverage: Sequence[Sequence[str]],
    stored: list[tuple[str, str]],
    captures: Sequence[Capture] = (),
    again: bool = False,
    reopened: list[ReopenedCase] | None = None,
) -> ProvscanError | None:
    """Store the result and write its JSON report in one pass over its contract entries:
    each device's entry is made once (making them is a large part of what each costs) and
    they are never all held (a capture's thousands of devices). Adds (scan id, database shown)
    to ``stored`` once stored; returns the store's failure, raised after the output.

    The store leads: a write that fails is raised only when the store is done (stored
    anyway), and when the store fails the report still gets every entry before its error.
    """
    from provscan.report.contract import to_contract_parts
    from provscan.report.formats import json_report_writer

    head, entries = to_contract_parts(result)
    with json_report_writer(head, output, console) as write:

        def written() -> Iterator[dict[str, Any]]:
            for entry in entries:
                write(entry)
                yield entry

        failure: ProvscanError | None = None
        try:
            stored.append(
                _store(
                    result,
                    db,
                    site,
                    coverage,
                    captures,
                    again,
                    reopened,
                    parts=(head, written()),
                )
            )
        except ProvscanError as exc:
            failure = exc
        for entry in entries:  # what a store that failed did not take
            write(entry)
    return failure


def _store(
    result: ScanResult,
    db: str | None,
    site: str | None,
    coverage: Sequence[Sequence[str]],
    captures: Sequence[Capture] = (),
    again: bool = False,
    reopened: list[ReopenedCase] | None = None,
    *,
    parts: tuple[Mapping[str, Any], Iterable[dict[str, Any]]] | None = None,
) -> tuple[str, str]:
    """Save the result (from its contract ``parts`` when given: see
    :meth:`~provscan.store.db.Store.save_parts`) and send the configured alerts; (scan id,
    database shown). Adds the cases the scan reopened to ``reopened``."""
    with open_db(db) as store:
        if parts is None:
            scan_id = store.save(
                result, site=site, coverage=coverage, captures=captures, again=again
            )
        else:
            scan_id = store.save_parts(
                *parts, site=site, coverage=coverage, captures=captures, again=again
            )
        if reopened is not None:
            try:
                reopened.extend(store.reopened_by(scan_id))
            except ProvscanError as exc:  # stored all the same: only the warning is lost
                warn(f"cannot read which cases scan {scan_id} reopened: {exc}")
        from provscan.alerts.deliver import send_after_save
        from provscan.config import load_config

        # configured alert sinks ([[alerts.*]]); a failure is only a warning
        send_after_save(
            store,
            load_config().alerts,
            warn,
        )
        return scan_id, store.display_name


def reopened_line(case: ReopenedCase) -> str:
    """``case #1 (Hikvision 127.77.1.10, HQ) reopened: seen again by this scan after it was
    verified removed``: what a stored scan did to a case people had closed."""
    from provscan.compliance.render import maker_label

    device = case.device
    where = ", ".join(
        part
        for part in (
            f"{maker_label(device.manufacturer, device.brand)} {device.ip}",
            device.site,
            None if case.subject == "restricted" else case.subject,
        )
        if part
    )
    if case.subject != "restricted":
        why = "this scan saw the finding again after it was verified gone"
    elif case.was == "verified":
        why = "seen again by this scan after it was verified removed"
    else:
        why = f"seen again by this scan after it was marked {case.was}"
    return f"case #{case.id} ({where}) reopened: {why}"


def require_existing_db(db: str | None) -> None:
    """Refuse (exit 2) a SQLite ``--db`` file that does not exist, for the commands that read
    what was stored: a mistyped path would otherwise create an empty store, and an empty store
    reports "0 restricted devices" — a clean bill of health nobody earned. A server database
    (PostgreSQL) without provscan's tables is refused the same way (opening it would create
    them); one that cannot be reached says so when it is opened."""
    path = _db_file(db)
    if path is None:
        if db is not None and "://" in db:
            from provscan.store.db import empty_server_database, normalise_db_arg

            shown = empty_server_database(normalise_db_arg(db))
            if shown is not None:
                raise UsageProblem(
                    f"no provscan tables in the database {shown}: nothing was stored there "
                    "(check --db, or store a scan with this --db first)"
                )
        return  # in memory, or a server database with provscan's tables
    if path.is_dir():
        raise UsageProblem(f"--db {path} is a directory, not a provscan database file")
    if not path.exists() or _holds_nothing(path):
        if db is None or not db.strip():  # the default store, which the user never named
            raise UsageProblem(
                f"no provscan database at {path} (the default): nothing was stored yet; "
                "store a scan first (provscan scan TARGET)"
            )
        raise UsageProblem(
            f"no provscan database at {path}: nothing was stored there (check --db, or store "
            f"a scan with --db {path} first)"
        )
    # a bad --db is a bad argument (2) here as for `scan`, not a store that fails to open (1)
    problem = _not_a_store(path)
    if problem:
        raise UsageProblem(f"--db {path} {problem}")


def _db_file(db: str | None) -> Path | None:
    """The SQLite file ``--db`` names (the default store when not given); None for a
    database in memory or on a server."""
    from provscan.paths import default_db_path

    if db is None or not db.strip():
        return default_db_path()
    if db == ":memory:":
        return None
    if "://" in db:
        scheme, _, rest = db.partition("://")
        if not scheme.startswith("sqlite") or not rest.startswith("/") or rest == "/":
            return None
        return Path(rest[1:])
    return Path(db).expanduser()


#: The first bytes of every SQLite 3 database file.
_SQLITE_HEADER = b"SQLite format 3\x00"


def check_store(db: str | None, no_db: bool) -> None:
    """Refuse (exit 2), before any scanning, a store the result could not be saved in: a
    ``--db`` beside ``--no-db``, a directory, a file in a folder that does not exist, a file
    that is not SQLite (a CSV named by mistake) or a SQLite database of another program
    (provscan would add its tables to it). Files are only read here: nothing is created or
    changed; a new file is created when the result is stored. A server database is opened
    (and brought to the current schema) now, so that a wrong URL or password costs no scan.
    """
    if no_db:
        if db is not None:
            raise UsageProblem("--no-db and --db contradict each other: give one or the other")
        return
    path = _db_file(db)
    if path is None:
        if db is not None and db != ":memory:" and not db.startswith("sqlite"):
            with open_db(db):
                pass
        return
    shown = f"--db {db}" if db is not None else f"the default database {path}"
    if path.is_dir():
        raise UsageProblem(f"{shown} is a directory, not a provscan database file")
    if db is not None and not path.exists() and not path.parent.is_dir():
        raise UsageProblem(f"{shown}: the folder {path.parent} does not exist")
    if not path.exists():
        return
    problem = _not_a_store(path)
    if problem:
        raise UsageProblem(
            f"{shown} {problem}; nothing was scanned (name a new file, or a provscan database)"
        )


def check_site(db: str | None, no_db: bool, site: str | None) -> None:
    """Refuse (exit 2) a ``--site`` the store holds spelt otherwise (``Ottawa`` when it has
    ``ottawa``: :meth:`~provscan.store.db.Store.require_one_spelling`), before the result is
    stored: it would be a second site with the same devices. The one check of every command
    that stores at a site (:func:`emit`; `provscan scan` before anything is sent). A store not
    made yet holds no site (and is not made here)."""
    if no_db or site is None or db == ":memory:":
        return
    path = _db_file(db)
    if path is not None and (not path.exists() or _holds_nothing(path)):
        return
    with open_db(db) as store:
        store.require_one_spelling(site)


def _holds_nothing(path: Path) -> bool:
    """Whether the file ``path`` is empty or a SQLite database without tables: opening it
    would make an empty store of it (read without changing it; unreadable: False, for
    :func:`_not_a_store` to say why)."""
    import sqlite3

    try:
        if path.stat().st_size == 0:
            return True
        with path.open("rb") as file:
            if file.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                return False
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None
        finally:
            connection.close()
    except (OSError, sqlite3.Error):
        return False


def _not_a_store(path: Path) -> str | None:
    """Why the existing file ``path`` cannot be a provscan store, read without changing it;
    None when it can (an empty file, or SQLite with provscan's tables or no tables yet)."""
    import sqlite3

    try:
        with path.open("rb") as file:
            header = file.read(len(_SQLITE_HEADER))
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not header:
        return None  # an empty file: SQLite makes it a new database
    if header != _SQLITE_HEADER:
        return "is not a provscan database (not a SQLite file)"
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return f"cannot be read as a database ({exc})"
    if tables and "alembic_version" not in tables:
        return "is a SQLite database of another program (it has no provscan tables)"
    return None


def open_db(db: str | None, *, must_exist: bool = False) -> Store:
    """The store named by ``--db``, following the organisation's settings in the config file
    (when a device is gone, case due dates). ``must_exist``: for commands that only read
    what was stored (:func:`require_existing_db`)."""
    if must_exist:
        require_existing_db(db)
    from provscan.config import load_config
    from provscan.store.cases import CaseSettings
    from provscan.store.db import StoreSettings, normalise_db_arg, open_store

    config = load_config()
    settings = StoreSettings(
        gone_after=config.inventory.gone_after_scans,
        cases=CaseSettings(
            sla_days_restricted=config.cases.sla_days_restricted,
            sla_days_priority1=config.cases.sla_days_priority1,
        ),
    )
    return open_store(normalise_db_arg(db), settings)


def scan_coverage(targets: TargetSet) -> list[list[str]]:
    """The address ranges an active scan of ``targets`` covers (its blocks less its
    exclusions), kept with the scan so the inventory knows where absence is proof."""
    from provscan.store.inventory import coverage_ranges

    def spans(blocks: Iterable[TargetBlock]) -> list[str]:
        return [f"{block.first}-{block.last}" for block in blocks]

    return coverage_ranges(spans(targets.blocks), spans(targets.excluded))


def silent_scan_misses(
    result: ScanResult, db: str | None, site: str | None, coverage: Sequence[Sequence[str]]
) -> int:
    """How many devices stored in ``db`` the scan ``result``, which nothing answered, would
    count missing although nobody said they were taken away
    (:meth:`~provscan.store.db.Store.silent_scan_misses`). A store not made yet holds none
    (and is not made here)."""
    path = _db_file(db)
    if path is not None and (not path.exists() or _holds_nothing(path)):
        return 0
    with open_db(db) as store:
        return len(
            store.silent_scan_misses(
                site=site,
                coverage=coverage,
                ports=result.info.ports,
                started_at=result.info.started_at,
            )
        )


def finish(result: ScanResult, fail_on_restricted: bool) -> None:
    """Exit 3 when asked to and a restricted device was found."""
    if fail_on_restricted and any(d.restricted for d in result.devices):
        raise typer.Exit(EXIT_RESTRICTED)
