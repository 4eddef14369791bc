"""What an AMD needs to register and verify accounts: ``codegouv orgs add`` and ``orgs check``.

``add`` edits organisations.yml the way a person would: the new owner goes at the end of its
host's ``owners``, with the file's own indentation and quoting, and nothing else changes. The
file is read with ruamel.yaml's round-trip loader, which keeps the line and column of every key
(PyYAML's loader keeps neither comments nor positions); the new lines are rendered by ruamel's
dumper and spliced into the original text rather than re-dumping the whole document, because a
full round-trip dump is not byte-exact on the real file: it drops the upstream duplicate
``pso_id`` of gitlab.mim-libre.fr and moves the blank line that ends a host block below the new
owner. The result is validated by the crawler's own loader before it is written atomically.

ruamel.yaml (``add``) and requests (``check``) are imported by the functions that use them:
``codegouv orgs validate`` needs neither.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from crawler.config import ConfigError, ConfigIssue, load_config, token_for
from crawler.models import FORGE_KINDS, Config, ForgeConfig

if TYPE_CHECKING:
    import requests
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

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


def load_accounts(path: Path) -> Config:
    """:func:`crawler.config.load_config`, with a file nested too deeply for the YAML parser
    (``[[[[…``: ~500 brackets exhaust Python's recursion) reported as a configuration error
    instead of a traceback.

    Raises:
        ConfigError: every mistake of the file.
    """
    try:
        return load_config(path)
    except RecursionError:
        raise ConfigError(
            [ConfigIssue(str(path), 0, "nested too deeply to be read (lists or mappings)")]
        ) from None


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
    config = load_accounts(path)
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
    from ruamel.yaml import YAML

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
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    try:
        document = _round_trip().load(text)
    except (YAMLError, RecursionError) as error:  # the crawler's loader accepted it: unlikely
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
    if not isinstance(owners, CommentedMap) or owners.fa.flow_style():
        line = document[host_key].lc.key("owners")[0] + 1
        raise OrgsError(
            f"{where}:{line} : les « owners » de {host} sont écrits sur une ligne "
            "({…}) : ajoutez le compte à la main"
        )
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
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

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
    from ruamel.yaml.comments import CommentedMap

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
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

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
    """Write beside ``path`` then rename over it: a reader sees the old or the new file whole.
    A symbolic link is followed: the file it points to is replaced, the link stays."""
    path = path.resolve()
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


# --- check -------------------------------------------------------------------------------------

#: At most this many requests in flight per forge host (politeness, as the crawler).
PER_HOST = 4
#: What ``orgs check`` reads of an answer at most: an account's JSON is a few kB.
MAX_BODY = 1 << 20
#: Same-host redirects followed at most per request.
MAX_REDIRECTS = 5

CHECK_STATUSES = ("ok", "missing", "renamed", "error", "unsupported")


@dataclass(frozen=True)
class AccountCheck:
    """What the forge says of one account of the file."""

    host: str
    login: str
    status: str
    """``ok``, ``missing``, ``renamed`` (see ``canonical``), ``error`` (the forge could not
    say), ``unsupported`` (a forge kind ``orgs check`` cannot ask yet)."""
    kind: str | None = None
    """``organization``, ``user`` or ``group``, as the forge says."""
    repositories: int | None = None
    """Public repositories (GitLab: projects of the group and its subgroups), when known."""
    canonical: str | None = None
    """The login or path the forge answers with; differs from ``login`` when renamed."""
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("missing", "renamed", "error")

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": f"{self.host}/{self.login}",
            "host": self.host,
            "login": self.login,
            "status": self.status,
            "kind": self.kind,
            "repositories": self.repositories,
            "canonical": self.canonical,
            "message": self.message,
        }


class _Offsite(Exception):
    """A redirect off the forge's API (another scheme, host or port): never followed."""


class _Unreadable(Exception):
    """An answer too big, too slow or not the JSON expected."""


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any
    headers: Mapping[str, str]
    moved: bool
    """A same-host redirect was followed to get it."""


def check_targets(config: Config, targets: Sequence[str] = ()) -> list[tuple[ForgeConfig, str]]:
    """The accounts to check: ``HOST/LOGIN`` targets (listed in the file or not, on a forge of
    the file), or every listed account of the file.

    Raises:
        OrgsError: a target that is not ``HOST/LOGIN`` or whose host is not in the file.
    """
    if not targets:
        return [(forge, owner.login) for forge in config.forges for owner in forge.owners]
    chosen: list[tuple[ForgeConfig, str]] = []
    for target in targets:
        host, _, login = target.strip().strip("/").partition("/")
        forge = config.forge(host.lower())
        if not login:
            raise OrgsError(f"« {target} » : attendu HÔTE/COMPTE, par exemple github.com/etalab")
        if forge is None:
            raise OrgsError(f"{config.path} : la forge « {host} » n'est pas dans le fichier")
        listed = next((o.login for o in forge.owners if o.login.lower() == login.lower()), None)
        chosen.append((forge, listed or login))
    return chosen


def check_accounts(
    targets: Sequence[tuple[ForgeConfig, str]],
    environ: Mapping[str, str] = os.environ,
    *,
    timeout: float = 20.0,
) -> list[AccountCheck]:
    """Ask each account's forge whether it exists, its kind, its public repositories and
    whether it was renamed; in the order given, hosts in parallel, ``PER_HOST`` at most each.

    Tokens are the crawler's (:func:`crawler.config.token_for`) and go only to their forge's
    API: a redirect to another scheme, host or port is reported, never followed.
    """
    forges = {forge.host: forge for forge, _ in targets}
    slots = {host: threading.BoundedSemaphore(PER_HOST) for host in forges}
    tokens = {host: token_for(forge, environ) for host, forge in forges.items()}

    def one(target: tuple[ForgeConfig, str]) -> AccountCheck:
        forge, login = target
        with slots[forge.host]:
            return _check(forge, login, tokens[forge.host], timeout)

    if not targets:
        return []
    workers = min(len(targets), PER_HOST * len(slots), 32)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="orgs-check") as pool:
        return list(pool.map(one, targets))


def _check(forge: ForgeConfig, login: str, token: str | None, timeout: float) -> AccountCheck:
    if forge.kind not in ("github", "gitlab"):
        return AccountCheck(
            forge.host, login, "unsupported", message=f"forge {forge.kind} : pas encore vérifiable"
        )
    import requests

    from crawler.forges.base import USER_AGENT

    with requests.Session() as session:
        session.headers["User-Agent"] = USER_AGENT
        if forge.kind == "github":
            session.headers["Accept"] = "application/vnd.github+json"
            session.headers["X-GitHub-Api-Version"] = "2022-11-28"
            if token:
                session.headers["Authorization"] = f"Bearer {token}"
        elif token:
            session.headers["PRIVATE-TOKEN"] = token
        client = _Client(session, forge.api_url, timeout)
        try:
            if forge.kind == "github":
                return _check_github(client, forge.host, login)
            return _check_gitlab(client, forge.host, login)
        except _Offsite as error:
            message = f"redirection hors de la forge vers {error}, non suivie"
        except _Unreadable as error:
            message = f"réponse illisible : {error}"
        except requests.RequestException as error:
            message = f"forge injoignable : {type(error).__name__}"
        log.warning("%s/%s: %s", forge.host, login, message)
        return AccountCheck(forge.host, login, "error", message=message)


class _Client:
    """GET on one forge's API: same-host redirects followed, bodies capped, JSON decoded."""

    def __init__(self, session: requests.Session, api_url: str, timeout: float) -> None:
        self.session = session
        self.api_url = api_url.rstrip("/")
        self.origin = _origin(self.api_url)
        self.timeout = timeout

    def get(self, path: str, params: Mapping[str, str] | None = None) -> _Answer:
        from requests.structures import CaseInsensitiveDict

        url = f"{self.api_url}{path}"
        moved = False
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.get(
                url,
                params=params,
                allow_redirects=False,
                stream=True,
                timeout=(min(self.timeout, 10.0), self.timeout),
            )
            with response:
                if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
                    location = urljoin(response.url, response.headers.get("Location", ""))
                    if _origin(location) != self.origin:
                        raise _Offsite(urlsplit(location).netloc or location)
                    url, params, moved = location, None, True
                    continue
                body = _read(response, self.timeout)
                headers = CaseInsensitiveDict(response.headers)
                status = response.status_code
            try:
                value = json.loads(body) if body else None
            except ValueError:
                if status == 200:
                    raise _Unreadable("pas du JSON") from None
                value = None
            return _Answer(status, value, headers, moved)
        raise _Unreadable(f"plus de {MAX_REDIRECTS} redirections")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def _read(response: requests.Response, timeout: float) -> bytes:
    """The body, at most ``MAX_BODY`` bytes and ``timeout`` seconds in all (a trickling
    answer must not hang the check)."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    while True:
        # read1, not iter_content: it returns what one read of the socket gives, so a body
        # trickled a byte at a time meets the deadline instead of waiting for 64 kB.
        chunk = response.raw.read1(64 * 1024, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            raise _Unreadable(f"plus de {MAX_BODY // 1024} kio")
        if time.monotonic() > deadline:
            raise _Unreadable(f"plus de {timeout:.0f} s")
        chunks.append(chunk)


def _http_error(host: str, login: str, answer: _Answer) -> AccountCheck:
    if answer.status == 401:
        message = "jeton refusé (401) : vérifiez la variable d'environnement du jeton"
    elif answer.status in (403, 429):
        message = f"accès refusé ou limite de requêtes atteinte ({answer.status})"
    else:
        message = f"réponse inattendue de la forge (HTTP {answer.status})"
    return AccountCheck(host, login, "error", message=message)


def _verdict(
    host: str, login: str, kind: str, canonical: str, repositories: int | None, *, moved: bool
) -> AccountCheck:
    if moved or canonical.lower() != login.lower():
        return AccountCheck(
            host,
            login,
            "renamed",
            kind,
            repositories,
            canonical,
            f"renommé en « {canonical} » : mettez le fichier à jour",
        )
    return AccountCheck(host, login, "ok", kind, repositories, canonical)


def _check_github(client: _Client, host: str, login: str) -> AccountCheck:
    # /users/LOGIN answers organisations too (type "Organization"), with public_repos.
    answer = client.get(f"/users/{quote(login, safe='')}")
    if answer.status == 404:
        return AccountCheck(host, login, "missing", message="compte introuvable sur la forge")
    if answer.status != 200:
        return _http_error(host, login, answer)
    body = answer.body
    if not isinstance(body, dict) or not isinstance(body.get("login"), str):
        raise _Unreadable("pas un compte GitHub")
    kind = "organization" if body.get("type") == "Organization" else "user"
    repositories = body.get("public_repos")
    count = repositories if isinstance(repositories, int) else None
    return _verdict(host, login, kind, body["login"], count, moved=answer.moved)


def _check_gitlab(client: _Client, host: str, login: str) -> AccountCheck:
    encoded = quote(login, safe="")
    answer = client.get(f"/groups/{encoded}", {"with_projects": "false"})
    if answer.status == 200:
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("full_path"), str):
            raise _Unreadable("pas un groupe GitLab")
        # As the crawler lists a group: its subgroups' projects, not those shared with it.
        count = _total(
            client,
            f"/groups/{body.get('id')}/projects",
            {"include_subgroups": "true", "with_shared": "false"},
        )
        return _verdict(host, login, "group", body["full_path"], count, moved=answer.moved)
    if answer.status != 404:
        return _http_error(host, login, answer)
    users = client.get("/users", {"username": login})
    if users.status != 200:
        return _http_error(host, login, users)
    found = [u for u in users.body or () if isinstance(u, dict) and isinstance(u.get("id"), int)]
    if not found or "/" in login:
        return AccountCheck(host, login, "missing", message="groupe ou utilisateur introuvable")
    user = found[0]
    count = _total(client, f"/users/{user['id']}/projects", {})
    username = user.get("username")
    canonical = username if isinstance(username, str) else login
    return _verdict(host, login, "user", canonical, count, moved=users.moved)


def _total(client: _Client, path: str, params: Mapping[str, str]) -> int | None:
    """A GitLab listing's ``X-Total`` (None when GitLab leaves it out, above 10,000)."""
    query = {**params, "visibility": "public", "per_page": "1", "simple": "true"}
    answer = client.get(path, query)
    if answer.status != 200:
        return None
    total = answer.headers.get("X-Total", "")
    return int(total) if total.isdigit() else None
