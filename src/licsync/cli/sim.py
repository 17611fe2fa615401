"""``licsync sim``: run the QRS simulator and make certificates for it.

The simulator is imported inside the commands, so that no other command loads it.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Annotated

import typer

from licsync.cli._click import UsageError as ClickUsageError
from licsync.errors import UsageError

__all__ = ["register", "sim_app"]

DEMO_CLOCK = "2026-11-20T09:00:00Z"  # licsync.sim.demo.DEMO_NOW, for the help text

sim_app = typer.Typer(
    name="sim",
    help="Run the built-in Qlik Repository Service simulator.",
    no_args_is_help=True,
    add_completion=False,
)


def register(app: typer.Typer) -> None:
    """Add ``sim serve`` and ``sim certs`` to the ``licsync`` app."""
    app.add_typer(sim_app, name="sim")


@sim_app.command("serve")
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
    users: Annotated[int, typer.Option(min=0, help="People in the synthetic organisation.")] = 1000,
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
) -> None:
    """Serve a simulated QRS until interrupted (Ctrl-C)."""
    from licsync.sim.auth import ProxyConfig  # noqa: PLC0415 - only `sim` loads the simulator
    from licsync.sim.demo import DEMO_NOW, demo_organisation  # noqa: PLC0415
    from licsync.sim.server import start_simulator  # noqa: PLC0415

    if demo and snapshot is not None:
        msg = "--demo and --snapshot both name what to serve: give one"
        raise ClickUsageError(msg)
    proxies = None
    if jwt_key is not None:
        try:
            key = jwt_key.read_bytes()
        except OSError as exc:
            msg = f"cannot read {jwt_key}: {exc.strerror}"
            raise UsageError(msg) from exc
        proxies = ProxyConfig.with_jwt_key(key)
    with start_simulator(
        demo_organisation() if demo else None,
        host=host,
        port=port,
        tls_dir=tls_dir,
        users=users,
        seed=seed,
        snapshot=snapshot,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        proxies=proxies,
    ) as sim:
        if demo:
            what = f"demo organisation, clock fixed at {_iso(DEMO_NOW)}"
        elif snapshot:
            what = f"snapshot {snapshot}"
        else:
            what = f"{users} users, seed {seed}"
        typer.echo(f"licsync simulator: serving QRS at {sim.url} ({what})")
        if demo:
            typer.echo(
                f"  plan against it: licsync plan licenses/ --qrs-url {sim.url} "
                f"--now {_iso(DEMO_NOW)}"
            )
        # stdout may be a pipe (a test or a supervisor reads the URL): push the line out now.
        typer.get_text_stream("stdout").flush()
        stop = threading.Event()
        try:
            while not stop.wait(3600):
                pass
        except KeyboardInterrupt:
            # Ctrl-C is how a simulator is meant to stop: a success, not an interruption.
            typer.echo("licsync simulator: stopped")


@sim_app.command("certs")
def certs(
    directory: Annotated[Path, typer.Argument(help="Folder to write the PEM files into.")],
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Write root.pem, client.pem, server.pem and their keys, as a QMC export has them."""
    from licsync.sim.certs import write_certs  # noqa: PLC0415 - only `sim` loads the simulator

    paths = write_certs(directory, force=force)
    typer.echo(f"licsync simulator: wrote certificates to {paths.root.parent}")
    typer.echo(
        f"  trust {paths.root.name}; authenticate with {paths.client.name}"
        f" and {paths.client_key.name}"
    )
    typer.echo(f"  serve with: licsync sim serve --tls-dir {paths.root.parent}")


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
