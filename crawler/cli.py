"""The `codegouv` command line: parse, call, print. No logic lives here.

Every `codegouv` process imports this module before it does anything, so its own imports are
the few that building the commands needs (click, rich's console, the defaults shown by
``--help``); each command imports what it runs. ``tests/test_cli_imports.py`` keeps it so.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console

from crawler import db as store
from crawler import jobs, scheduler, sill_sync
from crawler import status as status_module
from crawler.explain import explain
from crawler.lock import AlreadyRunning
from crawler.models import FORGE_KINDS
from crawler.redact import RedactingFilter, register_environment

if TYPE_CHECKING:
    from rich.progress import TaskID

    from crawler import orgs as orgs_module
    from crawler.config import ConfigError
    from crawler.models import RunReport
    from crawler.pipeline import Progress as CrawlProgress
    from crawler.publish.build import PublishReport
    from sill.load import SillSourceError

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
        from rich.logging import RichHandler

        handler = RichHandler(console=err, show_path=False, markup=False)
        line = "%(message)s"
    else:
        handler = logging.StreamHandler()
        line = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    # Tokens: masked in every log line (crawler.redact), whatever a forge echoes.
    register_environment(os.environ)
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level, format=line, handlers=[handler])


def _path_option(
    flag: str, name: str, default: Path, text: str, *, folder: bool = False
) -> Callable[[F], F]:
    """A ``--flag FILE`` (or folder) option with a default path shown in ``--help``."""
    return click.option(
        flag,
        name,
        type=click.Path(dir_okay=folder, file_okay=not folder, path_type=Path),
        default=default,
        show_default=True,
        help=text,
    )


db_option = _path_option("--db", "db_path", DEFAULT_DB, "Base SQLite de l'inventaire.")
config_option = _path_option("--config", "config_path", DEFAULT_CONFIG, "Fichier des comptes.")


def common(function: F) -> F:
    """Options every command shares."""

    @click.option("-v", "--verbose", count=True, help="Plus de détails (-vv : débogage).")
    @functools.wraps(function)
    def wrapper(*args: Any, verbose: int, **kwargs: Any) -> Any:
        _setup_logging(verbose)
        return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def quiet_logger(name: str) -> Callable[[F], F]:
    """Only errors from the logger ``name`` while the command runs, unless ``-v`` was given:
    what it would warn about, the command prints itself (or sums up in one line)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            logger = logging.getLogger(name)
            level = logger.level
            if logging.getLogger().level > logging.INFO:
                logger.setLevel(logging.ERROR)
            try:
                return function(*args, **kwargs)
            finally:
                logger.setLevel(level)

        return wrapper  # type: ignore[return-value]

    return decorate


def one_line_errors(function: F) -> F:
    """A full disk, a read-only folder, a --db that is not ours…: one line naming the place and
    exit 2 (bad input) or 1 (failure), instead of a traceback (see ``crawler.explain``)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (OSError, sqlite3.Error, store.NotOurDatabase, MemoryError) as error:
            explained = explain(error, kwargs.get("db_path"))
            if explained is None:
                raise
            err.print(explained.message, style="red", markup=False, highlight=False)
            sys.exit(explained.status)

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
@one_line_errors
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
    from crawler.config import ConfigError, load_config, select, unsupported_forges
    from crawler.forges.base import RetryPolicy

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
    if len(error.issues) == 1:
        line = f"Configuration invalide : {error.issues[0]}"
        err.print(line, style="red", markup=False, highlight=False)
        return
    err.print(f"[red]Configuration invalide ({len(error.issues)} erreur(s)) :[/red]")
    for issue in error.issues:
        err.print(f"  {issue}", markup=False, highlight=False, soft_wrap=True)


@contextmanager
def _progress_bars() -> Iterator[Callable[[CrawlProgress], None] | None]:
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

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
@one_line_errors
@quiet_logger("sill.load")
def sill_command(source: str, db_path: Path) -> None:
    """Charge le SILL et le relie aux dépôts de l'inventaire.

    Si l'adresse par défaut ne répond pas, la copie fournie est chargée, avec un avertissement.
    Un fichier qui n'est pas un export du SILL laisse les tables du SILL intactes (statut 2).
    """
    from sill.load import SillError

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


out_option = _path_option(
    "--out",
    "out_dir",
    DEFAULT_OUT,
    "Dossier de publication (remplacé d'un bloc quand la nouvelle publication est prête).",
    folder=True,
)


@main.command()
@db_option
@out_option
@click.option(
    "--site/--no-site",
    default=True,
    show_default=True,
    help="Construire le site statique (DIR/site/). Avec --no-site, seuls les données, "
    "Datasette et les exports sont publiés, build.json le dit, et le site de la publication "
    "précédente n'est pas repris : DIR/site/ n'existe plus.",
)
@common
@one_line_errors
def publish(db_path: Path, out_dir: Path, site: bool) -> None:
    """Publie la base : copie immuable, métadonnées Datasette, exports, site statique et
    build.json.

    Statut de sortie : 0 publié, 1 échec (la publication précédente reste en place),
    2 entrée invalide.
    """
    from crawler.publish.build import PublishError, PublishInputError

    try:
        report = jobs.publish(db_path, out_dir, site=site)
    except (PublishInputError, AlreadyRunning) as error:
        err.print(str(error), style="red", markup=False, highlight=False)
        sys.exit(2)
    except PublishError as error:
        err.print(str(error), style="red", markup=False, highlight=False)
        sys.exit(1)
    _print_publish(report)
    if not site:
        click.echo("Site statique non construit (--no-site).")


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
    from crawler.licences import MANIFESTS, Detection, detect, from_manifest
    from crawler.licences.bounded import ParseError, read_capped
    from crawler.licences.manifests import MAX_BYTES as MAX_FILE_BYTES

    failed = False
    for path in files:
        try:
            content = read_capped(path, MAX_FILE_BYTES)
        except OSError as error:
            err.print(f"[red]{path} : illisible ({error.strerror})[/red]", highlight=False)
            failed = True
            continue
        except ParseError:
            err.print(f"[red]{path} : fichier trop gros, non lu[/red]", highlight=False)
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
    """Valide des fichiers publiccode.yml (« 0 », versions 0.2 à 0.7) : chaque erreur et chaque
    avertissement avec le chemin de sa clé. Statut 1 si un fichier est invalide."""
    from crawler import publiccode

    invalid = False
    for path in files:
        try:
            result = publiccode.validate_file(path)
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
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processus qui servent en parallèle (une instance publique : un par cœur).",
)
@common
def serve(
    *,
    out_dir: Path | None,
    db_path: Path | None,
    port: int,
    host: str,
    no_cache: bool,
    workers: int,
) -> None:
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
    _serve(app, host, port, workers)


def _serve(app: Any, host: str, port: int, workers: int = 1) -> None:
    from crawler import serve as server

    try:
        server.check(app)
        sock = server.bind(host, port)
        url = server.url_of(sock)
        server.serve(app, sock, workers=workers, on_ready=lambda: _print_urls(app, url))
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
@_path_option(
    "--db", "db_path", DEMO_DB, "Base de la démonstration (distincte de celle des parcours réels)."
)
@_path_option("--out", "out_dir", DEMO_OUT, "Dossier où publier la démonstration.", folder=True)
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
    _print_status(status_module.read_status(db_path))
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
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@config_option
@common
@one_line_errors
def validate(file: Path | None, config_path: Path) -> None:
    """Vérifie le fichier des comptes (FILE, ou --config) et signale chaque erreur avec sa
    ligne, avant une demande de fusion. Statut 2 si le fichier a des erreurs."""
    from crawler import orgs as orgs_module
    from crawler.config import ConfigError, unsupported_forges

    config_path = file or config_path
    try:
        config = orgs_module.load_accounts(config_path)
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


@orgs.command("add")
@click.argument("host")
@click.argument("login")
@click.option("--pso-id", help="Identifiant de l'organisme sur lannuaire.service-public.fr.")
@click.option("--ministry", help="Ministère (sinon déduit du pso_id).")
@click.option("--floss-policy", metavar="URL", help="Politique de publication des codes sources.")
@click.option("--name", help="Nom affiché.")
@click.option(
    "--forge",
    "forge_kind",
    type=click.Choice(FORGE_KINDS),
    help="Type de la forge, pour inscrire une forge absente du fichier.",
)
@click.option("--dry-run", is_flag=True, help="Montrer la modification sans rien écrire.")
@config_option
@common
@one_line_errors
def orgs_add(
    *,
    host: str,
    login: str,
    pso_id: str | None,
    ministry: str | None,
    floss_policy: str | None,
    name: str | None,
    forge_kind: str | None,
    dry_run: bool,
    config_path: Path,
) -> None:
    """Inscrit le compte LOGIN de la forge HOST dans le fichier des comptes, en gardant
    commentaires, ordre et mise en forme, et montre la modification (diff).

    Statut 2 : doublon, forge inconnue sans --forge, ou fichier invalide (rien n'est écrit).
    """
    from crawler import orgs as orgs_module
    from crawler.config import ConfigError

    settings = {"pso_id": pso_id, "floss_policy": floss_policy, "name": name, "ministry": ministry}
    try:
        result = orgs_module.add_owner(
            config_path, host, login, settings, forge_kind=forge_kind, dry_run=dry_run
        )
    except ConfigError as error:
        _print_config_error(error)
        sys.exit(2)
    except orgs_module.OrgsError as error:
        err.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as error:
        message = f"{config_path} : écriture impossible ({error.strerror})"
        err.print(f"[red]{message}[/red]", highlight=False, soft_wrap=True)
        sys.exit(1)
    click.echo(result.diff, nl=False)
    what = f"{result.host}/{result.login}" + (" (nouvelle forge)" if result.new_host else "")
    if result.written:
        click.echo(f"Compte ajouté : {what} dans {result.path}.")
    else:
        click.echo(f"Essai : {what} serait ajouté à {result.path} ; rien n'est écrit.")


_CHECK_LABELS = {
    "ok": "[green]présent[/green]",
    "missing": "[red]introuvable[/red]",
    "renamed": "[yellow]renommé[/yellow]",
    "error": "[red]erreur[/red]",
    "unsupported": "[dim]non vérifiable[/dim]",
}
_KIND_LABELS = {"organization": "organisation", "user": "utilisateur", "group": "groupe"}


@orgs.command("check")
@click.argument("accounts", nargs=-1, metavar="[HOST/LOGIN]...")
@click.option("--json", "as_json", is_flag=True, help="Résultat en JSON (une liste d'objets).")
@config_option
@common
def orgs_check(accounts: tuple[str, ...], as_json: bool, config_path: Path) -> None:
    """Demande à chaque forge si les comptes existent, leur type, leur nombre de dépôts publics
    et s'ils ont été renommés ; sans argument, tous les comptes du fichier.

    Les jetons sont ceux du parcours (variables d'environnement). Statut 1 si un compte est
    introuvable, renommé ou n'a pas pu être vérifié ; 2 si l'entrée est invalide.
    """
    from crawler import orgs as orgs_module
    from crawler.config import ConfigError

    try:
        targets = orgs_module.check_targets(orgs_module.load_accounts(config_path), accounts)
    except ConfigError as error:
        _print_config_error(error)
        sys.exit(2)
    except orgs_module.OrgsError as error:
        err.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        sys.exit(2)
    results = orgs_module.check_accounts(targets)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2))
    else:
        _print_checks(results)
    sys.exit(1 if any(r.failed for r in results) else 0)


def _print_checks(results: list[orgs_module.AccountCheck]) -> None:
    from rich.table import Table

    table = Table(title="Comptes des organisations sur leurs forges", title_justify="left")
    for column in ("Compte", "État", "Type"):
        table.add_column(column)
    table.add_column("Dépôts publics", justify="right")
    table.add_column("Détail")
    for result in results:
        table.add_row(
            f"{result.host}/{result.login}",
            _CHECK_LABELS[result.status],
            _KIND_LABELS.get(result.kind or "", "—"),
            "—" if result.repositories is None else str(result.repositories),
            result.message or "",
        )
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    out.print(table)
    failed = sum(1 for r in results if r.failed)
    click.echo(f"{len(results)} compte(s) vérifié(s), {failed} à corriger.")


# --- status -----------------------------------------------------------------------------------


@main.command("status")
@db_option
@click.option(
    "--max-age",
    "max_age",
    type=click.FloatRange(min=0, min_open=True),
    default=status_module.DEFAULT_MAX_AGE_HOURS,
    show_default=True,
    metavar="HEURES",
    help="Âge maximal des données d'une forge avant alerte.",
)
@click.option("--runs", default=5, show_default=True, help="Nombre de parcours affichés.")
@click.option("--json", "as_json", is_flag=True, help="Résultat en JSON, pour les scripts.")
@common
def status_command(db_path: Path, max_age: float, runs: int, as_json: bool) -> None:
    """État de l'inventaire pour l'exploitation : derniers parcours, fraîcheur par forge,
    comptes en échec et depuis quand, dernière publication. Ne modifie pas la base.

    Statut 1 si les données d'une forge ont plus de --max-age heures ou si la dernière
    publication a échoué (pour une sonde de supervision) ; 2 si la base est illisible.
    """
    try:
        state = status_module.read_status(db_path, max_age_hours=max_age, runs=runs)
    except status_module.StatusError as error:
        err.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(state.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_status(state)
    sys.exit(0 if state.healthy else 1)


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


def _print_status(state: status_module.Status) -> None:
    from rich.table import Table

    out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    runs = Table(title="Derniers parcours", title_justify="left")
    for column in ("N°", "Début", "Fin", "Résultat", "Durée", "Comptes lus", "En échec", "Dépôts"):
        runs.add_column(column)
    for run in state.runs:
        duration = "—" if run.duration_seconds is None else f"{run.duration_seconds:.0f} s"
        runs.add_row(
            str(run.id),
            run.started_at or "—",
            run.finished_at or "—",
            run.status or "—",
            duration,
            *("—" if v is None else str(v) for v in (run.accounts_ok, run.accounts_failed)),
            "—" if run.repositories_seen is None else str(run.repositories_seen),
        )
    out.print(runs if state.runs else "Aucun parcours enregistré.")
    forges = Table(
        title=f"Fraîcheur par forge (alerte au-delà de {state.max_age_hours:g} h)",
        title_justify="left",
    )
    for column in ("Forge", "Dernier parcours", "Résultat", "Dernier succès", "Âge", ""):
        forges.add_column(column)
    for forge in state.forges:
        forges.add_row(
            forge.host,
            forge.last_crawled_at or "—",
            forge.status or "—",
            forge.last_success_at or "jamais",
            _hours(forge.age_hours),
            "[red]périmée[/red]" if forge.stale else "[green]à jour[/green]",
        )
    out.print(forges)
    if state.failing_accounts:
        failing = Table(title="Comptes en échec", title_justify="left")
        for column in ("Compte", "En échec depuis", "Échecs", "Dernière erreur"):
            failing.add_column(column)
        for account in state.failing_accounts:
            failing.add_row(
                account.id,
                account.failing_since or "—",
                str(account.failures),
                account.last_error or "—",
            )
        out.print(failing)
    else:
        out.print("Aucun compte en échec.")
    publish = state.publish
    if publish is None:
        out.print("Publication : jamais publié.")
    else:
        verdict = "[red]échec[/red]" if publish.failed else (publish.status or "?")
        out.print(
            f"Publication : {verdict}, commencée {publish.started_at or '?'}, "
            f"finie {publish.finished_at or '—'}"
            + (f", dans {publish.out_dir}" if publish.out_dir else "")
            + (f" — {publish.error}" if publish.error else ""),
            soft_wrap=True,
        )
    if state.healthy:
        out.print("[green]État : tout va bien.[/green]")
    for problem in state.problems:
        out.print(f"[red]Alerte : {problem}[/red]", soft_wrap=True)


# --- schedule ---------------------------------------------------------------------------------


@main.command("schedule")
@config_option
@db_option
@out_option
@click.option(
    "--schedule",
    "schedule_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=scheduler.DEFAULT_SCHEDULE_PATH,
    show_default=True,
    help="Horaires (expressions cron) des tâches.",
)
@click.option(
    "--sill-source",
    default=sill_sync.DEFAULT_SOURCE,
    show_default=True,
    help="Adresse ou fichier de l'export du SILL.",
)
@click.option("--list", "list_jobs", is_flag=True, help="Affiche les tâches et leurs horaires.")
@click.option("--once", is_flag=True, help="Lance la chaîne complète maintenant, puis s'arrête.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Journal sur la sortie standard : une ligne par événement (json : JSON Lines).",
)
@click.option("-v", "--verbose", count=True, help="Plus de détails (-vv : débogage).")
@one_line_errors
def schedule_command(
    *,
    config_path: Path,
    db_path: Path,
    out_dir: Path,
    schedule_path: Path,
    sill_source: str,
    list_jobs: bool,
    once: bool,
    log_format: str,
    verbose: int,
) -> None:
    """Le démon : parcours → SILL → publication selon config/schedule.yml, jamais deux à la fois.

    SIGTERM ou Ctrl-C : l'étape en cours s'arrête proprement (un parcours reprendra où il s'est
    arrêté) et le démon sort avec le statut 0. Statut 2 : horaires invalides.
    """
    try:
        plan = scheduler.load_schedule(schedule_path)
    except scheduler.ScheduleError as error:
        err.print(f"[red]{error}[/red]", highlight=False)
        sys.exit(2)
    if list_jobs:
        now = dt.datetime.now(dt.UTC)
        labels = {"chain": "parcours → SILL → publication", "sill": "SILL → publication"}
        crons = {"chain": plan.chain, "sill": plan.sill}
        for name, times in scheduler.next_runs(plan, now, count=3).items():
            upcoming = ", ".join(t.isoformat(timespec="minutes") for t in times)
            click.echo(f"{name:6} {crons[name]:<14} {labels[name]} ; prochains : {upcoming}")
        click.echo(f"(fuseau horaire : {plan.timezone})")
        return
    _setup_daemon_logging(log_format, verbose)
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        logging.getLogger("crawler.scheduler").info(
            "signal %s received", signal.Signals(signum).name, extra={"event": "signal"}
        )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    chains = scheduler.inventory_chains(config_path, db_path, out_dir, sill_source)
    if once:
        result = chains["chain"].run(stop)
        sys.exit({"ok": 0, "stopped": 0, "busy": 2}.get(result.status, 1))
    scheduler.run_forever(scheduler.build(plan, chains, stop), stop)


def _setup_daemon_logging(log_format: str, verbose: int) -> None:
    """One line per event on stdout, where a service manager collects it."""
    handler = logging.StreamHandler(sys.stdout)
    register_environment(os.environ)
    handler.addFilter(RedactingFilter())
    if log_format == "json":
        handler.setFormatter(scheduler.JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO - 10 * min(verbose, 1), handlers=[handler], force=True)
