"""What an AMD needs to register and verify accounts: ``codegouv orgs add`` and ``orgs check``.

``add`` edits organisations.yml the way a person would: the new owner goes at the end of its
host's ``owners``, with the file's own indentation and quoting, and nothing else changes. The
file is read with ruamel.yaml's round-trip loader, which keeps the line and column of every key
(PyYAML's loader keeps neither comments nor positions); the new lines are rendered by ruamel's
dumper and spliced into the original text rather than re-dumping the whole document, because a
full round-trip dump is not byte-exact on the real file: it drops the upstream duplicate
``pso_id`` of gitlab.mim-libre.fr and moves the blank line that ends a host block below the new
owner. The result is validated by the crawler's own loader before it is written atomically.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from crawler.config import ConfigError, ConfigIssue, load_config
from crawler.models import FORGE_KINDS, Config, ForgeConfig

log = logging.getLogger(__name__)

#: The order of an added owner's settings: code.gouv.fr's keys, then this project's extensions.
OWNER_SETTINGS = ("pso_id", "floss_policy", "name", "ministry")


class OrgsError(ValueError):
    """A request that cannot be done as asked (bad input): one line, naming the place."""


@dataclass(frozen=True)
class AddResult:
    """What ``orgs add`` did (or would do, with ``dry_run``)."""

    path: Path
    host: str
    login: str
    diff: str
    """The unified diff of the change, ``a/`` and ``b/`` being the same file."""
    written: bool
    new_host: bool
    """The host was not in the file: its entry was created with ``forge: KIND``."""


def add_owner(
    path: Path,
    host: str,
    login: str,
    settings: Mapping[str, str | None] | None = None,
    *,
    forge_kind: str | None = None,
    dry_run: bool = False,
) -> AddResult:
    """Add account ``login`` of forge ``host`` to the accounts file at ``path``.

    Args:
        path: organisations.yml.
        host: the forge host (case-insensitive).
        login: the account login or group path.
        settings: the owner's ``pso_id``, ``floss_policy``, ``name``, ``ministry`` (None: unset).
        forge_kind: the forge's software; required when ``host`` is not in the file yet.
        dry_run: compute the change and its diff, write nothing.

    Raises:
        ConfigError: the file is invalid, or would be with this account (every issue).
        OrgsError: a duplicate, an unknown host without ``forge_kind``, a whole-instance forge.
        OSError: the file cannot be written.
    """
    host = host.strip().lower()
    login = login.strip().strip("/")
    values = {key: value for key, value in (settings or {}).items() if value}
    unknown = sorted(set(values) - set(OWNER_SETTINGS))
    if unknown:
        raise ValueError(f"unknown owner settings: {unknown}")
    if not host or not login:
        raise OrgsError("l'hôte et l'identifiant du compte sont obligatoires")
    config = load_config(path)
    forge = config.forge(host)
    _check_request(config, forge, host, login, forge_kind)
    with path.open(encoding="utf-8", newline="") as source:  # keep the file's line endings
        text = source.read()
    new_text = _with_owner(
        text,
        where=str(path),
        host=host,
        login=login,
        values=values,
        forge=forge,
        forge_kind=forge_kind,
    )
    _validate(path, new_text, host, login)
    if not dry_run:
        _write_atomically(path, new_text)
        log.info("%s: %s/%s added", path, host, login)
    diff = "".join(
        difflib.unified_diff(
            text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"{path} (actuel)",
            tofile=f"{path} (modifié)",
        )
    )
    return AddResult(path, host, login, diff, written=not dry_run, new_host=forge is None)


def _check_request(
    config: Config, forge: ForgeConfig | None, host: str, login: str, forge_kind: str | None
) -> None:
    where = config.path
    if forge_kind is not None and forge_kind not in FORGE_KINDS:
        raise OrgsError(
            f"type de forge inconnu « {forge_kind} » (attendu : {', '.join(FORGE_KINDS)})"
        )
    if forge is None:
        if forge_kind is None:
            raise OrgsError(
                f"{where} : la forge « {host} » n'est pas dans le fichier ; vérifiez l'hôte, ou "
                f"ajoutez --forge KIND ({', '.join(FORGE_KINDS)}) pour la créer"
            )
        return
    if forge_kind is not None and forge_kind != forge.kind:
        raise OrgsError(
            f"{where}:{forge.line} : {host} est une forge {forge.kind}, pas {forge_kind}"
        )
    if forge.whole_instance:
        raise OrgsError(
            f"{where}:{forge.line} : {host} est listée sans « owners » : elle est dédiée au "
            "secteur public et tous ses projets publics sont déjà parcourus"
        )
    if forge.kind == "github" and "/" in login:
        raise OrgsError(f"« {login} » n'est pas un compte GitHub (pas de « / »)")
    for owner in forge.owners:
        if owner.login.lower() == login.lower():
            raise OrgsError(
                f"{where}:{owner.line} : {host}/{owner.login} est déjà inscrit"
                + (f" (demandé : « {login} »)" if owner.login != login else "")
            )


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    # The upstream file repeats a key (gitlab.mim-libre.fr's pso_id); the crawler's loader
    # reports it, this loader only needs positions.
    yaml.allow_duplicate_keys = True
    yaml.preserve_quotes = True  # to write an added value the way the file quotes its own
    yaml.width = 4096  # never fold a long URL
    return yaml


def _with_owner(
    text: str,
    *,
    where: str,
    host: str,
    login: str,
    values: Mapping[str, str],
    forge: ForgeConfig | None,
    forge_kind: str | None,
) -> str:
    """The file's text with the owner spliced in where a person would write it."""
    try:
        document = _round_trip().load(text)
    except YAMLError as error:  # the crawler's loader accepted it: unlikely, but say where
        raise OrgsError(f"{where} : lecture impossible ({error})") from None
    if not isinstance(document, CommentedMap):
        raise OrgsError(f"{where} : le fichier n'est pas une table de forges")
    lines = text.splitlines(keepends=True)
    if forge is None:
        assert forge_kind is not None
        block = _render(login, values, indent=4, step=2, quote=None)
        head = "" if not lines or lines[-1].strip() == "" else "\n"
        if lines and not lines[-1].endswith("\n"):
            head = "\n" + head
        return text + head + f"{host}:\n  forge: {forge_kind}\n  owners:\n" + block
    host_key = next(key for key in document if str(key).strip().lower() == host)
    owners = document[host_key]["owners"]
    last = list(owners)[-1]
    line, column = owners.lc.key(last)
    insert_at = _end_of_entry(lines, line, column)
    step, quote = _style(document, owners, column)
    block = _render(login, values, indent=column, step=step, quote=quote)
    if insert_at > 0 and not lines[insert_at - 1].endswith("\n"):
        lines[insert_at - 1] += "\n"
    return "".join([*lines[:insert_at], block, *lines[insert_at:]])


def _end_of_entry(lines: list[str], line: int, column: int) -> int:
    """The index after the last line of the entry whose key is at ``line``/``column``:
    more-indented lines belong to it; blank lines and comments after it do not."""
    end = line + 1
    for index in range(line + 1, len(lines)):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(lines[index]) - len(lines[index].lstrip(" "))
        if indent <= column:
            break
        end = index + 1
    return end


def _style(document: CommentedMap, owners: CommentedMap, column: int) -> tuple[int, str | None]:
    """The indentation step under an owner and the quoting of its values, as the file has them
    (this host's owners first, then any host's)."""
    step: int | None = None
    quote: str | None = None
    hosts = [value for value in document.values() if isinstance(value, CommentedMap)]
    candidates = [owners, *(h.get("owners") for h in hosts)]
    for candidate in candidates:
        if not isinstance(candidate, CommentedMap):
            continue
        for owner_key, settings in candidate.items():
            if not isinstance(settings, CommentedMap) or not settings:
                continue
            first = next(iter(settings))
            if step is None:
                step = settings.lc.key(first)[1] - candidate.lc.key(owner_key)[1]
            for value in settings.values():
                if isinstance(value, DoubleQuotedScalarString):
                    quote = quote or '"'
                elif isinstance(value, SingleQuotedScalarString):
                    quote = quote or "'"
        if step is not None:
            break
    return (step if step and step > 0 else 2), quote


def _render(
    login: str, values: Mapping[str, str], *, indent: int, step: int, quote: str | None
) -> str:
    settings: CommentedMap | None = None
    if values:
        settings = CommentedMap()
        for key in OWNER_SETTINGS:
            if key in values:
                settings[key] = _quoted(values[key], quote)
    document = CommentedMap()
    document[login] = settings
    yaml = _round_trip()
    yaml.indent(mapping=step, sequence=step + 2, offset=step)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return "".join(" " * indent + line for line in buffer.getvalue().splitlines(keepends=True))


def _quoted(value: str, quote: str | None) -> Any:
    if quote == '"':
        return DoubleQuotedScalarString(value)
    if quote == "'":
        return SingleQuotedScalarString(value)
    return value


def _validate(path: Path, text: str, host: str, login: str) -> None:
    """Load the changed text with the crawler's own loader (from a file beside ``path``, so
    that ``ministries.yml`` is found the same way); its issues are reported on ``path``."""
    with _scratch_file(path, text) as scratch, _quiet("crawler.config"):
        try:
            config = load_config(scratch)
        except ConfigError as error:
            raise ConfigError(
                ConfigIssue(
                    str(path), issue.line, f"après l'ajout (rien n'est écrit) : {issue.message}"
                )
                if issue.path == str(scratch)
                else issue
                for issue in error.issues
            ) from None
    forge = config.forge(host)
    if forge is None or not any(o.login.lower() == login.lower() for o in forge.owners):
        raise OrgsError(f"{path} : l'ajout de {host}/{login} n'a pas pu être vérifié")


@contextlib.contextmanager
def _scratch_file(path: Path, text: str) -> Iterator[Path]:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=path.parent)
    scratch = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        yield scratch
    finally:
        scratch.unlink(missing_ok=True)


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Drop a logger's records for a while: the original file's warnings were already shown,
    and they must not come back naming a scratch file."""
    logger = logging.getLogger(name)

    def drop(_record: logging.LogRecord) -> bool:
        return False

    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def _write_atomically(path: Path, text: str) -> None:
    """Write beside ``path`` then rename over it: a reader sees the old or the new file whole."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    scratch = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(OSError):
            os.chmod(scratch, path.stat().st_mode & 0o7777)
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
