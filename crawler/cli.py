"""The `codegouv` command line: parse, call, print. No logic lives here."""

from __future__ import annotations

import functools
import json
import logging
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

from crawler import jobs, publiccode, sill_sync
from crawler.config import ConfigError, load_config, select, unsupported_forges
from crawler.forges.base import RetryPolicy
from crawler.licences import MANIFESTS, Detection, detect, from_manifest
from crawler.lock import AlreadyRunning
from crawler.models import RunReport
from crawler.pipeline import Progress as CrawlProgress
from crawler.publish.build import PublishError, PublishInputError, PublishReport
from sill.load import SillError, SillSourceError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = Path("data/inventory.db")
DEFAULT_CONFIG = Path("config/organisations.yml")

#: Never wrapped: when stderr is not a terminal rich would cut lines at 80 columns, and a path in
#: an error message, or a log line read by a machine, must stay whole.
err = Console(stderr=True, soft_wrap=True)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    handler: logging.Handler
    if err.is_terminal:
        handler = RichHandler(console=err, show_path=False, markup=False)
        line = "%(message)s"
    else:
        handler = logging.StreamHandler()
        line = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=line, handlers=[handler])


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
    started = time.monotonic()
    try:
        with _progress_bars() as on_progress:
            report = jobs.crawl(
                config, db_path, progress=on_progress, retry=RetryPolicy(max_wait=max_wait)
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

    def on_fallback(error: SillSourceError) -> None:
        err.print(
            f"[yellow]{error} — chargement de la copie fournie à la place.[/yellow]",
            highlight=False,
        )

    try:
        report = jobs.sill(db_path, source, on_fallback=on_fallback)
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


# --- publish ----------------------------------------------------------------------------------

DEFAULT_OUT = Path("public")


@main.command()
@db_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Dossier de publication (remplacé d'un bloc quand la nouvelle publication est prête).",
)
@common
def publish(db_path: Path, out_dir: Path) -> None:
    """Publie la base : copie immuable, métadonnées Datasette, exports et build.json.

    Statut de sortie : 0 publié, 1 échec (la publication précédente reste en place),
    2 entrée invalide.
    """
    try:
        report = jobs.publish(db_path, out_dir)
    except (PublishInputError, AlreadyRunning) as error:
        err.print(str(error), style="red", markup=False, highlight=False)
        sys.exit(2)
    except PublishError as error:
        err.print(str(error), style="red", markup=False, highlight=False)
        sys.exit(1)
    _print_publish(report)


def _print_publish(report: PublishReport) -> None:
    seconds = sum(report.durations.values())
    click.echo(
        f"Publication n°{report.run_id} dans {report.out_dir} : "
        f"{report.counts.get('repositories', 0)} dépôts, "
        f"{report.counts.get('sill_software', 0)} logiciels du SILL, {seconds:.1f} s."
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

DEMO_DB = Path("data/demo/inventory.db")
DEMO_OUT = Path("data/demo/public")


def port_option(function: F) -> F:
    return click.option("--port", default=8001, show_default=True, help="Port d'écoute.")(function)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Dossier publié par `codegouv publish`  [défaut : {DEFAULT_OUT}]",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Servir directement une base de travail (lecture seule), sans publication.",
)
@port_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Ne pas garder les réponses en mémoire (elles le sont jusqu'à la publication suivante).",
)
@common
def serve(out_dir: Path | None, db_path: Path | None, port: int, host: str, no_cache: bool) -> None:
    """Sert le dossier publié : Datasette sur sa base, les exports (/data/) et le site (/site/).

    Une nouvelle publication dans le même dossier est servie dès qu'elle est en place, sans
    interrompre une seule requête. Statut 2 : rien à servir ; 1 : port déjà utilisé.
    """
    from crawler import serve as server

    if out_dir is not None and db_path is not None:
        raise click.UsageError("--out et --db s'excluent : choisissez l'un des deux.")
    app = (
        server.InventoryApp(db_path=db_path)
        if db_path is not None
        else server.InventoryApp(out_dir or DEFAULT_OUT, cache=not no_cache)
    )
    _serve(app, host, port)


def _serve(app: Any, host: str, port: int) -> None:
    from crawler import serve as server

    try:
        server.check(app)
        sock = server.bind(host, port)
        url = server.url_of(sock)
        server.serve(app, sock, on_ready=lambda: _print_urls(app, url))
    except server.ServeError as error:
        err.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        sys.exit(error.status)


def _print_urls(app: Any, url: str) -> None:
    click.echo(f"Datasette : {url}/")
    out_dir = app.out_dir
    if out_dir is not None and (out_dir / "data").is_dir():
        click.echo(f"Exports : {url}/data/")
    if out_dir is not None and (out_dir / "site").is_dir():
        click.echo(f"Site : {url}/site/")
    click.echo("(Ctrl-C pour arrêter)")


# --- demo -------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEMO_DB,
    show_default=True,
    help="Base de la démonstration (distincte de celle des parcours réels).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEMO_OUT,
    show_default=True,
    help="Dossier où publier la démonstration.",
)
@port_option
@click.option("--once", is_flag=True, help="Parcourir et publier, puis s'arrêter sans servir.")
@click.option(
    "--latency",
    default=0.0,
    show_default=True,
    help="Latence simulée de la forge locale, en secondes par requête.",
)
@common
def demo(db_path: Path, out_dir: Path, port: int, once: bool, latency: float) -> None:
    """Tout le pipeline hors ligne : forge locale → parcours → SILL → publication → serveur.

    La démonstration a sa propre base et prend son verrou : elle ne touche jamais une base
    qu'un parcours est en train d'écrire.
    """
    from crawler import demo as demo_pipeline
    from crawler import serve as server

    sock = None if once else _bind_or_exit(port)
    started = time.monotonic()
    try:
        with _progress_bars() as on_progress:
            result = demo_pipeline.run_all(
                db_path,
                out_dir,
                latency=latency,
                progress=on_progress,
                on_started=lambda url: click.echo(f"Forge locale : {url}"),
            )
    except AlreadyRunning as error:
        err.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        sys.exit(2)
    except demo_pipeline.DemoError as error:
        err.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        sys.exit(1)
    _print_summary(result.crawl, time.monotonic() - started)
    click.echo(f"Publication : {result.out_dir}")
    if result.crawl.accounts_failed:
        sys.exit(1)
    if sock is None:
        return
    try:
        app = server.InventoryApp(out_dir)
        url = server.url_of(sock)
        server.serve(app, sock, on_ready=lambda: _print_urls(app, url))
    except server.ServeError as error:
        err.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        sys.exit(error.status)


def _bind_or_exit(port: int, host: str = "127.0.0.1") -> Any:
    """Take the port first: a demo that cannot serve stops before its minute of crawling."""
    from crawler import serve as server

    try:
        return server.bind(host, port)
    except server.ServeError as error:
        err.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        sys.exit(error.status)


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
