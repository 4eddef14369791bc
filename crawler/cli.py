"""The `codegouv` command line: parse, call, print. No logic lives here."""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from crawler import db as store
from crawler import publiccode, sill_sync
from crawler.config import ConfigError, load_config, select, unsupported_forges
from crawler.forges.base import RetryPolicy
from crawler.licences import MANIFESTS, Detection, detect, from_manifest
from crawler.lock import AlreadyRunning, exclusive
from crawler.models import RunReport
from crawler.pipeline import Progress as CrawlProgress
from crawler.pipeline import crawl as run_crawl
from crawler.publish import datasette
from sill.load import SillError, SillSourceError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = Path("data/inventory.db")
DEFAULT_CONFIG = Path("config/organisations.yml")

# soft_wrap: no line breaks inside paths and hosts when stderr is not a terminal (80 columns).
err = Console(stderr=True, soft_wrap=True)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, markup=False)],
    )


def db_option(function: F) -> F:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_DB,
        show_default=True,
        help="Base SQLite de l'inventaire.",
    )(function)


def config_option(function: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_CONFIG,
        show_default=True,
        help="Fichier des comptes.",
    )(function)


def common(function: F) -> F:
    """Options every command shares."""

    @click.option("-v", "--verbose", count=True, help="Plus de détails (-vv : débogage).")
    @functools.wraps(function)
    def wrapper(*args: Any, verbose: int, **kwargs: Any) -> Any:
        _setup_logging(verbose)
        return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="codegouv-inventory")
def main() -> None:
    """Inventaire des codes sources publics : parcours des forges, SILL, publication.

    Public-code inventory: crawl the forges, merge the SILL, publish.
    """


# --- crawl ------------------------------------------------------------------------------------


@main.command()
@config_option
@db_option
@click.option(
    "--forge",
    "forges",
    multiple=True,
    metavar="HOST",
    help="Ne parcourir que cette forge (répétable).",
)
@click.option(
    "--max-wait",
    default=300.0,
    show_default=True,
    help="Attente maximale (s) demandée par une forge limitée ; au-delà, la forge est "
    "arrêtée et reprise au parcours suivant.",
)
@click.option(
    "--owner",
    "owners",
    multiple=True,
    metavar="LOGIN",
    help="Ne parcourir que ce compte (répétable).",
)
@common
def crawl(
    config_path: Path,
    db_path: Path,
    forges: tuple[str, ...],
    max_wait: float,
    owners: tuple[str, ...],
) -> None:
    """Parcourt les forges et écrit la base.

    Statut de sortie : 0 tout va bien, 1 des comptes en échec (leurs données précédentes sont
    gardées), 2 entrée invalide (rien n'est écrit).
    """
    try:
        config = select(load_config(config_path), forges=forges, owners=owners)
    except ConfigError as error:
        _print_config_error(error)
        sys.exit(2)
    skipped = unsupported_forges(config)
    if skipped:
        kinds = sorted({f.kind for f in skipped})
        err.print(
            f"[yellow]{len(skipped)} forge(s) ignorée(s), type non pris en charge pour "
            f"l'instant : {', '.join(kinds)}[/yellow]"
        )
    try:
        with exclusive(db_path):
            db = store.open_db(db_path)
            started = time.monotonic()
            with _progress_bars() as on_progress:
                report = run_crawl(
                    config, db, progress=on_progress, retry=RetryPolicy(max_wait=max_wait)
                )
    except AlreadyRunning as error:
        err.print(f"[red]{error}[/red]", highlight=False)
        sys.exit(2)
    _print_summary(report, time.monotonic() - started)
    sys.exit(0 if report.accounts_failed == 0 else 1)


def _print_config_error(error: ConfigError) -> None:
    err.print(f"[red]Configuration invalide ({len(error.issues)} erreur(s)) :[/red]")
    for issue in error.issues:
        err.print(f"  {issue}", markup=False, highlight=False)


@contextmanager
def _progress_bars() -> Iterator[Callable[[CrawlProgress], None] | None]:
    if not err.is_terminal:
        yield None
        return
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("comptes · {task.fields[repositories]} dépôts"),
        console=err,
        transient=False,
    ) as bars:

        def on_progress(event: CrawlProgress) -> None:
            if event.host not in tasks:
                tasks[event.host] = bars.add_task(
                    event.host, total=event.accounts_total, repositories=0
                )
            bars.update(
                tasks[event.host], completed=event.accounts_done, repositories=event.repositories
            )

        yield on_progress


def _print_summary(report: RunReport, seconds: float) -> None:
    failed = report.accounts_failed
    line = (
        f"Parcours n°{report.run_id} : {report.accounts_ok} comptes lus, "
        f"{report.repositories_seen} dépôts ({report.repositories_new} nouveaux, "
        f"{report.repositories_removed} disparus), {report.requests} requêtes API, "
        f"{seconds:.1f} s, {failed} échec(s)."
    )
    click.echo(line)
    for forge in report.forges:
        if forge.status in ("failed", "partial"):
            err.print(f"[red]{forge.host} : {forge.message}[/red]", highlight=False)


# --- sill -------------------------------------------------------------------------------------


@main.command("sill")
@click.option(
    "--source",
    default=sill_sync.DEFAULT_SOURCE,
    show_default=True,
    help="Adresse ou fichier de l'export du SILL ; « bundled » : la copie fournie (hors ligne).",
)
@db_option
@common
def sill_command(source: str, db_path: Path) -> None:
    """Charge le SILL et le relie aux dépôts de l'inventaire.

    Si l'adresse par défaut ne répond pas, la copie fournie est chargée, avec un avertissement.
    Un fichier qui n'est pas un export du SILL laisse les tables du SILL intactes (statut 2).
    """
    try:
        with exclusive(db_path):
            db = store.open_db(db_path)
            try:
                report = sill_sync.load_into(db, source)
            except SillSourceError as error:
                if source != sill_sync.DEFAULT_SOURCE:
                    raise
                err.print(
                    f"[yellow]{error} — chargement de la copie fournie à la place.[/yellow]",
                    highlight=False,
                )
                report = sill_sync.load_into(db, sill_sync.BUNDLED)
    except (SillError, AlreadyRunning) as error:
        err.print(f"[red]{error}[/red]", highlight=False)
        sys.exit(2)
    for warning in report.warnings:
        err.print(f"[yellow]{warning}[/yellow]", highlight=False)
    click.echo(
        f"SILL (format {report.shape}) : {report.loaded} logiciels ({report.new} nouveaux, "
        f"{report.removed} retirés), {report.skipped} entrée(s) ignorée(s), "
        f"{report.links} lien(s) vers des dépôts de l'inventaire."
    )


# --- licence and publiccode.yml checks --------------------------------------------------------


@main.command("licence")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Un objet JSON par fichier.")
def licence_command(files: tuple[Path, ...], as_json: bool) -> None:
    """Reconnaît la licence de fichiers LICENSE, COPYING… (ou de manifestes de paquets).

    Affiche pour chaque fichier l'identifiant SPDX trouvé (ou NOASSERTION : texte non reconnu,
    NONE : pas de licence), la confiance et le texte de référence le plus proche.
    """
    failed = False
    for path in files:
        try:
            content = path.read_bytes()
        except OSError as error:
            err.print(f"[red]{path} : illisible ({error.strerror})[/red]", highlight=False)
            failed = True
            continue
        declared = from_manifest(path.name, content) if path.name in MANIFESTS else None
        found = (
            Detection(declared, 1.0, path.name, source="manifest")
            if declared
            else detect(content, path.name)
        )
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "path": str(path),
                        "licence": found.licence,
                        "confidence": round(found.confidence, 4),
                        "reference": found.reference,
                        "closest": found.closest,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        detail = found.reference or (f"le plus proche : {found.closest}" if found.closest else "")
        click.echo(f"{path}\t{found.licence}\t{found.confidence:.0%}\t{detail}")
    sys.exit(2 if failed else 0)


@main.command("publiccode")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Un objet JSON par fichier.")
def publiccode_command(files: tuple[Path, ...], as_json: bool) -> None:
    """Valide des fichiers publiccode.yml (versions 0.2 à 0.4) : chaque erreur et chaque
    avertissement avec le chemin de sa clé. Statut 1 si un fichier est invalide."""
    invalid = False
    for path in files:
        try:
            result = publiccode.validate(path.read_bytes())
        except OSError as error:
            err.print(f"[red]{path} : illisible ({error.strerror})[/red]", highlight=False)
            invalid = True
            continue
        invalid = invalid or not result.valid
        if as_json:
            payload = {"path": str(path), **result.as_dict()}
            click.echo(json.dumps(payload, ensure_ascii=False))
            continue
        verdict = "valide" if result.valid else "invalide"
        click.echo(
            f"{path} : {verdict} ({len(result.errors)} erreur(s), "
            f"{len(result.warnings)} avertissement(s))"
        )
        for issue in result.errors:
            click.echo(f"  erreur {issue.path or '(fichier)'} : {issue.message}")
        for issue in result.warnings:
            click.echo(f"  avertissement {issue.path or '(fichier)'} : {issue.message}")
    sys.exit(1 if invalid else 0)


# --- serve ------------------------------------------------------------------------------------


@main.command()
@db_option
@click.option("--port", default=8001, show_default=True, help="Port local de Datasette.")
@common
def serve(db_path: Path, port: int) -> None:
    """Sert la base avec Datasette sur localhost."""
    if not db_path.exists():
        raise click.UsageError(f"{db_path} n'existe pas : lancez d'abord `codegouv crawl`.")
    _serve(db_path, port)


def _serve(db_path: Path, port: int) -> None:
    url = f"http://127.0.0.1:{port}"
    # Before the child starts: a SIGTERM while Datasette boots must still stop it (finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    process = datasette.start(db_path, port)
    try:
        datasette.wait_until_ready(url, process)
        click.echo(f"Datasette : {url}/{db_path.stem}  (Ctrl-C pour arrêter)")
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


# --- demo -------------------------------------------------------------------------------------


@main.command()
@db_option
@click.option("--port", default=8001, show_default=True, help="Port local de Datasette.")
@click.option("--once", is_flag=True, help="Parcourir puis s'arrêter, sans servir.")
@click.option(
    "--latency",
    default=0.0,
    show_default=True,
    help="Latence simulée de la forge locale, en secondes par requête.",
)
@common
def demo(db_path: Path, port: int, once: bool, latency: float) -> None:
    """Tout le pipeline hors ligne, sur la forge locale fournie."""
    from crawler import demo as demo_pipeline

    db = store.open_db(db_path)
    started = time.monotonic()
    with _progress_bars() as on_progress:
        forge, report = demo_pipeline.run(
            db,
            db_path.parent / "demo",
            latency=latency,
            progress=on_progress,
            on_started=lambda f, _c: click.echo(f"Forge locale : {f.url}"),
        )
    try:
        _print_summary(report, time.monotonic() - started)
        db.close()
        if report.accounts_failed:
            sys.exit(1)
        if not once:
            _serve(db_path, port)
    finally:
        forge.stop()


# --- orgs -------------------------------------------------------------------------------------


@main.group()
def orgs() -> None:
    """Gestion des comptes des organisations (config/organisations.yml)."""


@orgs.command()
@config_option
@common
def validate(config_path: Path) -> None:
    """Vérifie le fichier des comptes et signale chaque erreur avec sa ligne."""
    try:
        config = load_config(config_path)
    except ConfigError as error:
        _print_config_error(error)
        sys.exit(2)
    accounts = sum(len(f.owners) for f in config.forges)
    whole = sum(1 for f in config.forges if f.whole_instance)
    click.echo(
        f"{config_path} : valide — {len(config.forges)} forges ({whole} entièrement "
        f"publiques), {accounts} comptes."
    )
    skipped = unsupported_forges(config)
    if skipped:
        click.echo(
            f"{len(skipped)} forge(s) d'un type pas encore pris en charge : "
            + ", ".join(sorted({f.kind for f in skipped}))
        )
