"""``licsync sim``: run the QRS simulator and make certificates for it.

The simulator is imported inside the commands, so that no other command loads it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from licsync.cli._click import Typer
from licsync.cli._click import UsageError as ClickUsageError
from licsync.cli.exitcodes import ExitCode
from licsync.cli.progress import Progress
from licsync.errors import UsageError
from licsync.safefile import read_regular

MAX_USERS = 1_000_000
"""The most people ``sim serve`` builds (99,999,999,999 took 22.9 GB of memory before the
kernel stopped it); benchmarks use 100,000."""
MAX_SNAPSHOT_BYTES = 4 * 1024**3
"""A snapshot of 1,000,000 people is well under this."""

if TYPE_CHECKING:
    from licsync.sim.server import Simulator
    from licsync.sim.store import SimStore

__all__ = ["register", "sim_app"]

DEMO_CLOCK = "2026-11-20T09:00:00Z"  # licsync.sim.demo.DEMO_NOW, for the help text

SITE_FILE = "site.yaml"
KEY_VARIABLE = "QLIK_CLIENT_KEY"
# `sim certs` writes this beside the PEM files so that the command it prints works as is: a
# plan in certificate mode needs auth.cert_file, key_file_env and tls.ca_file, which no
# command-line option supplies. Paths are relative to the file, as the loader resolves them.
_SITE_YAML = """\
# Written by `licsync sim certs`: a site for the simulator served with --tls-dir on this folder.
site:
  name: sim-tls
  qrs_url: https://localhost:4242   # `licsync plan --qrs-url` names the simulator's port
  auth:
    mode: certificate
    user: INTERNAL\\sa_api
    cert_file: client.pem
    key_file_env: {key_variable}   # holds the path of client_key.pem
  tls:
    ca_file: root.pem
"""


sim_app = Typer(
    name="sim",
    help="Run the built-in Qlik Repository Service simulator.",
    no_args_is_help=True,
    add_completion=False,
)


def register(app: typer.Typer) -> None:
    """Add ``sim serve`` and ``sim certs`` to the ``licsync`` app."""
    app.add_typer(sim_app, name="sim")


_SERVE_HELP = (
    "Serve a simulated QRS until interrupted (Ctrl-C).\n\n"
    "Direct calls (/qrs/...) stand for port 4242; the virtual proxies /hdr (header hdr-usr), "
    "/jwt (needs --jwt-key) and /win (Windows/NTLM) stand for port 443.\n\n"
    "NTLM_USER_FILE: the environment variable naming the file of the /win proxy's Windows "
    "users, one DOMAIN:user:password per line (needs pip install 'licsync\\[ntlm]'). "
    "Proxy callers must be QRS users holding RootAdmin or DeploymentAdmin."
)


@sim_app.command("serve", help=_SERVE_HELP)
def serve(
    *,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 0,
    tls_dir: Annotated[
        Path | None,
        typer.Option(
            "--tls-dir",
            help="Serve HTTPS with the files of 'licsync sim certs'; require client certificates.",
        ),
    ] = None,
    users: Annotated[
        int,
        typer.Option(
            min=0,
            max=MAX_USERS,
            help=f"People in the synthetic organisation (at most {MAX_USERS:,}).",
        ),
    ] = 1000,
    seed: Annotated[
        int, typer.Option(help="Seed of the synthetic organisation and of faults.")
    ] = 0,
    snapshot: Annotated[
        Path | None, typer.Option(help="Serve this snapshot instead of a synthetic organisation.")
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Serve the demo organisation that licenses/ describes (clock fixed at "
            f"{DEMO_CLOCK}) instead of a synthetic one.",
        ),
    ] = False,
    latency_ms: Annotated[
        float,
        typer.Option("--latency-ms", min=0.0, help="Latency added to every /qrs response."),
    ] = 0.0,
    fault_rate: Annotated[
        float,
        typer.Option(
            "--fault-rate",
            min=0.0,
            max=1.0,
            help="Share (0..1) of /qrs requests that fail (500/503/429/drop/409).",
        ),
    ] = 0.0,
    jwt_key: Annotated[
        Path | None,
        typer.Option(
            "--jwt-key", help="PEM public key or certificate verifying the jwt proxy's tokens."
        ),
    ] = None,
    shapes: Annotated[
        str,
        typer.Option(
            "--shapes",
            help='live: answer as live servers do (never = 1753-01-01, "" deleted-user '
            "fields); spec: as the QRS spec's examples (0001-01-01, null).",
        ),
    ] = "live",
    date_skew_seconds: Annotated[
        float,
        typer.Option(
            "--date-skew-seconds",
            help="Send an HTTP Date header this far from this machine's clock (a server whose "
            "clock is off).",
        ),
    ] = 0.0,
    licence: Annotated[
        str,
        typer.Option(
            "--licence",
            help="serial: a serial and control number (reclaimed recent seats are quarantined); "
            "key: a signed licence key (released at once); expired: a serial licence that "
            "expired (no access can be added).",
        ),
    ] = "",
) -> int:
    """Serve a simulated QRS until interrupted (Ctrl-C)."""
    from licsync.sim.auth import ProxyConfig  # noqa: PLC0415 - only `sim` loads the simulator
    from licsync.sim.demo import DEMO_NOW  # noqa: PLC0415
    from licsync.sim.server import start_simulator  # noqa: PLC0415

    if demo and snapshot is not None:
        msg = "--demo and --snapshot both name what to serve: give one"
        raise ClickUsageError(msg)
    if shapes not in ("live", "spec"):
        msg = f"--shapes must be live or spec, not {shapes!r}"
        raise ClickUsageError(msg)
    if licence not in ("", "serial", "key", "expired"):
        msg = f"--licence must be serial, key or expired, not {licence!r}"
        raise ClickUsageError(msg)
    proxies = None
    if jwt_key is not None:
        try:
            key = jwt_key.read_bytes()
        except OSError as exc:
            msg = f"cannot read {jwt_key}: {exc.strerror}"
            raise UsageError(msg) from exc
        proxies = ProxyConfig.with_jwt_key(key)

    def started() -> contextlib.AbstractContextManager[Simulator]:
        store = _store(demo=demo, snapshot=snapshot, users=users, seed=seed, licence=licence)
        return start_simulator(
            store,
            host=host,
            port=port,
            tls_dir=tls_dir,
            users=users,
            seed=seed,
            snapshot=snapshot,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            proxies=proxies,
            shapes="live" if shapes == "live" else "spec",
            date_skew_seconds=date_skew_seconds,
        )

    # A 40,000-user site takes seconds to build: a terminal shows that it is being built.
    with _with_progress("building the simulated site", started) as sim:
        # The site just built lives as long as the server and holds no garbage worth finding:
        # frozen, it stays out of every later collection. Else a full collection scans it all,
        # and every answer waits on it (0.1 s in the middle of a 13,000-user apply).
        gc.collect()
        gc.freeze()
        if demo:
            what = f"demo organisation, clock fixed at {_iso(DEMO_NOW)}"
        elif snapshot:
            what = f"snapshot {snapshot}"
        else:
            what = f"{users} users, seed {seed}"
        typer.echo(f"licsync simulator: serving QRS at {sim.url} ({what})")
        now = f" --now {_iso(DEMO_NOW)}" if demo else ""
        if tls_dir is not None:
            typer.echo(f"  plan against it: {_tls_plan_command(tls_dir, sim.url)}{now}")
        elif demo:
            typer.echo(f"  plan against it: licsync plan licenses/ --qrs-url {sim.url}{now}")
        # stdout may be a pipe (a test or a supervisor reads the URL): push the line out now.
        typer.get_text_stream("stdout").flush()
        stop = threading.Event()
        try:
            with _ctrl_break_interrupts():
                # Short waits: a wait on Windows is not cut short by Ctrl-C or Ctrl-Break; the
                # interrupt is raised as soon as the wait returns.
                while not stop.wait(0.5):
                    pass
        except KeyboardInterrupt:
            # Ctrl-C is how a simulator is meant to stop: a success, not an interruption.
            typer.echo("licsync simulator: stopped")
    return ExitCode.OK


@contextlib.contextmanager
def _ctrl_break_interrupts() -> Iterator[None]:
    """On Windows, Ctrl-Break (``CTRL_BREAK_EVENT``, what a service manager or a test sends to
    a process group) stops the simulator as Ctrl-C does; by default it would kill it."""
    sigbreak = getattr(signal, "SIGBREAK", None)
    if sigbreak is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(sigbreak, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(sigbreak, previous)


def _store(
    *, demo: bool, snapshot: Path | None, users: int, seed: int, licence: str
) -> SimStore | None:
    """The store to serve, or None to let the simulator build it; with ``licence`` set."""
    from licsync.sim.clock import SimClock  # noqa: PLC0415
    from licsync.sim.demo import demo_organisation  # noqa: PLC0415
    from licsync.sim.seed import synthetic_organisation  # noqa: PLC0415
    from licsync.sim.store import SimStore  # noqa: PLC0415

    store = demo_organisation() if demo else None
    if store is None and snapshot is not None:
        try:
            # A regular file of bounded size: /dev/zero or a FIFO would never end.
            data = read_regular(snapshot, limit=MAX_SNAPSHOT_BYTES)
        except OSError as exc:
            raise UsageError(f"cannot read simulator snapshot {snapshot}: {exc.strerror}") from None
        store = SimStore.from_json(data)
    if store is None and licence:
        store = synthetic_organisation(users, seed, dt.datetime.now(dt.UTC))
        store.clock = SimClock(None)  # built "as of now", then follows the wall clock
    if store is not None and licence:
        store.set_licence("key" if licence == "key" else "serial", expired=licence == "expired")
    return store


@sim_app.command("certs")
def certs(
    directory: Annotated[Path, typer.Argument(help="Folder to write the PEM files into.")],
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> int:
    """Write root.pem, client.pem, server.pem and their keys, as a QMC export has them."""
    from licsync.keyfile import write_private  # noqa: PLC0415 - as write_certs
    from licsync.sim.certs import write_certs  # noqa: PLC0415 - only `sim` loads the simulator

    paths = write_certs(directory, force=force, write_private=write_private)
    typer.echo(f"licsync simulator: wrote certificates to {paths.root.parent}")
    typer.echo(
        f"  trust {paths.root.name}; authenticate with {paths.client.name}"
        f" and {paths.client_key.name}"
    )
    site = paths.root.parent / SITE_FILE
    if force or not site.exists():
        site.write_text(_SITE_YAML.format(key_variable=KEY_VARIABLE), encoding="utf-8")
    typer.echo(f"  {site.name}: a site in certificate mode using them")
    typer.echo(f"  serve with: licsync sim serve --demo --tls-dir {paths.root.parent}")
    typer.echo("  (it prints the plan command with its port)")
    return ExitCode.OK


def _tls_plan_command(tls_dir: Path, url: str) -> str:
    """A plan command that works against the TLS simulator: its certificates name localhost."""
    folder = tls_dir.resolve()
    local = url.replace("://127.0.0.1:", "://localhost:")
    return f"{KEY_VARIABLE}={folder / 'client_key.pem'} licsync plan {folder} --qrs-url {local}"


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@contextlib.contextmanager
def _with_progress(
    what: str, factory: Callable[[], contextlib.AbstractContextManager[Simulator]]
) -> Iterator[Simulator]:
    """Enter what ``factory`` makes under a progress line (on a terminal, after a second),
    which is cleared before anything else is printed."""
    with contextlib.ExitStack() as stack:
        with Progress(what, sys.stderr):
            value = stack.enter_context(factory())
        yield value
