"""``licsync sim``: run the QRS simulator and make certificates for it.

A typer sub-app (``sim_app``) that the main CLI mounts; ``python -m licsync.cli_sim`` runs it
on its own.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from licsync.errors import LicsyncError
from licsync.sim.auth import ProxyConfig
from licsync.sim.certs import write_certs
from licsync.sim.demo import DEMO_NOW, demo_organisation
from licsync.sim.server import start_simulator

__all__ = ["sim_app"]

sim_app = typer.Typer(
    name="sim",
    help="Run the built-in Qlik Repository Service simulator.",
    no_args_is_help=True,
    add_completion=False,
)


@sim_app.command("serve")
def serve(
    *,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 0,
    tls_dir: Annotated[
        Path | None,
        typer.Option(
            "--tls-dir",
            help="Serve HTTPS with the files of 'licsync sim certs'; require client certificates.",
        ),
    ] = None,
    users: Annotated[int, typer.Option(help="People in the synthetic organisation.")] = 1000,
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
            "2026-11-20T09:00:00Z) instead of a synthetic one.",
        ),
    ] = False,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", help="Latency added to every /qrs response.")
    ] = 0.0,
    fault_rate: Annotated[
        float,
        typer.Option(
            "--fault-rate", help="Share (0..1) of /qrs requests that fail (500/503/429/drop/409)."
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
    if users < 0:
        _fail("--users must not be negative")
    if demo and snapshot is not None:
        _fail("--demo and --snapshot both name what to serve: give one")
    try:
        proxies = ProxyConfig.with_jwt_key(jwt_key.read_bytes()) if jwt_key else None
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
                typer.echo("licsync simulator: stopped")
    except OSError as exc:
        _fail(f"cannot read {jwt_key}: {exc.strerror}")
    except LicsyncError as exc:
        _fail(str(exc))


@sim_app.command("certs")
def certs(
    directory: Annotated[Path, typer.Argument(help="Folder to write the PEM files into.")],
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Write root.pem, client.pem, server.pem and their keys, as a QMC export has them."""
    try:
        paths = write_certs(directory, force=force)
    except LicsyncError as exc:
        _fail(str(exc))
    typer.echo(f"licsync simulator: wrote certificates to {paths.root.parent}")
    typer.echo(
        f"  trust {paths.root.name}; authenticate with {paths.client.name}"
        f" and {paths.client_key.name}"
    )
    typer.echo(f"  serve with: licsync sim serve --tls-dir {paths.root.parent}")


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


if __name__ == "__main__":
    sim_app()
