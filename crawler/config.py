"""Load and validate organisations.yml (code.gouv.fr's accounts list) into records.

The file is composed, not just loaded, so that every mistake is reported with the line of the
offending key or value, all of them at once (a contributor fixes the file in one pass), and so
that duplicate hosts and owners, which PyYAML would silently collapse, are caught.

Tokens are never read from the file: :func:`token_for` takes them from the environment. Two hosts
whose token variables would be the same name are refused, plain http is accepted only where the
host resolves to loopback addresses alone, and an API aimed at a link-local or cloud metadata
address needs ``allow_link_local: true`` on its host.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from crawler.models import FORGE_KINDS, SUPPORTED_KINDS, Config, ForgeConfig, OwnerConfig
from crawler.redact import register

log = logging.getLogger(__name__)

#: Keys accepted on a forge host (code.gouv.fr's, then this project's extensions).
HOST_KEYS = (
    "forge",
    "owners",
    "pso_id",
    "floss_policy",
    "ospo_url",
    "ignored_since",
    "api_url",
    "name",
    "ministry",
    "allow_link_local",
)
#: Keys accepted on an owner.
OWNER_KEYS = ("pso_id", "floss_policy", "ospo_url", "ignored_since", "name", "ministry")
#: Settings an owner takes from its host when it does not set them.
INHERITED = ("pso_id", "floss_policy", "ospo_url", "ignored_since")

_NULL_TAG = "tag:yaml.org,2002:null"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*(?::(?P<port>[0-9]{{1,5}}))?$")
_LOGIN_PART = r"[A-Za-z0-9_.][A-Za-z0-9_.-]*"
_LOGIN_RE = re.compile(rf"^~?{_LOGIN_PART}(?:/{_LOGIN_PART})*$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_BOOL_TAG = "tag:yaml.org,2002:bool"

#: Where an API must not be sought without ``allow_link_local: true`` on its host: link-local
#: addresses (cloud metadata services answer on 169.254.169.254, and fd00:ec2::254 on AWS),
#: and the metadata services' usual names.
LINK_LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32")
)
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class ConfigIssue:
    """One mistake in a configuration file, printed as ``path:line: message``."""

    path: str
    line: int
    """1-based; 0 when the mistake is not tied to a line (a missing file, an unknown name)."""
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}: {self.message}"


class ConfigError(ValueError):
    """The configuration cannot be used; ``issues`` lists every mistake found, in file order."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


def load_config(path: str | Path, ministries_path: str | Path | None = None) -> Config:
    """Read and validate an organisations.yml.

    Args:
        path: the accounts file, in code.gouv.fr's format.
        ministries_path: the pso_id → ministry table; by default ``ministries.yml`` beside
            ``path`` when there is one, else no ministry is derived.

    Returns:
        The forges and their owners in the file's order, hosts lower-cased, settings inherited
        and ``api_url`` filled with the forge kind's default.

    Raises:
        ConfigError: with every mistake of the file (or of the ministries table).
    """
    path = Path(path)
    if ministries_path is None:
        beside = path.parent / "ministries.yml"
        ministries = load_ministries(beside) if beside.is_file() else {}
    else:
        ministries = load_ministries(ministries_path)
    root = _compose(path)
    parser = _Parser(str(path), ministries)
    forges = parser.parse(root)
    if parser.issues:
        raise ConfigError(sorted(parser.issues, key=lambda issue: issue.line))
    config = Config(path=str(path), forges=tuple(forges))
    log.debug(
        "%s: %d forges, %d owners",
        path,
        len(config.forges),
        sum(len(forge.owners) for forge in config.forges),
    )
    return config


def load_ministries(path: str | Path) -> dict[str, str]:
    """Read the pso_id → ministry name table (``config/ministries.yml``); pso_ids lower-cased."""
    where = str(path)
    root = _compose(Path(path))
    issues: list[ConfigIssue] = []
    ministries: dict[str, str] = {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError([ConfigIssue(where, _line(root), "expected a mapping of pso_id → name")])
    seen: dict[str, int] = {}
    for key, value in root.value:
        line = _line(key)
        pso_id = key.value.strip().lower() if isinstance(key, yaml.ScalarNode) else ""
        if not _UUID_RE.match(pso_id):
            issues.append(ConfigIssue(where, line, f"'{_text(key)}' is not a pso_id (a UUID)"))
            continue
        if pso_id in seen:
            first = seen[pso_id]
            issues.append(
                ConfigIssue(where, line, f"pso_id {pso_id} listed twice (first at line {first})")
            )
            continue
        seen[pso_id] = line
        if not isinstance(value, yaml.ScalarNode) or _is_null(value) or not value.value.strip():
            issues.append(ConfigIssue(where, _line(value), f"{pso_id}: expected a ministry name"))
            continue
        ministries[pso_id] = value.value.strip()
    if issues:
        raise ConfigError(issues)
    return ministries


def unsupported_forges(config: Config) -> list[ForgeConfig]:
    """The forges whose kind has no adapter yet: callers report and skip them."""
    return [forge for forge in config.forges if forge.kind not in SUPPORTED_KINDS]


def is_ignored(item: ForgeConfig | OwnerConfig, today: dt.date | None = None) -> bool:
    """Whether ``ignored_since`` is reached (on or before ``today``, by default the local date)."""
    if item.ignored_since is None:
        return False
    return item.ignored_since <= (today or dt.date.today())


def select(config: Config, forges: Sequence[str] = (), owners: Sequence[str] = ()) -> Config:
    """Keep only the named forge hosts and/or owners, case-insensitively.

    An owner is named by its login (every forge where it is listed is kept) or by
    ``HOST/LOGIN``. With an owner filter, a whole-instance forge is kept only when its host is
    named too; with both filters, owners are looked for under the named hosts only.

    Raises:
        ConfigError: a name that is not in the configuration (all of them at once).
    """
    if not forges and not owners:
        return config
    hosts = {host.strip().lower() for host in forges}
    wanted = {login.strip().strip("/").lower() for login in owners}
    known_hosts = {forge.host for forge in config.forges}
    issues = [
        ConfigIssue(config.path, 0, f"forge '{host}' is not in the configuration")
        for host in sorted(hosts - known_hosts)
    ]
    found: set[str] = set()
    kept: list[ForgeConfig] = []
    for forge in config.forges:
        if hosts and forge.host not in hosts:
            continue
        if not wanted:
            kept.append(forge)
        elif forge.whole_instance:
            if forge.host in hosts:
                kept.append(forge)
        else:
            matches = []
            for owner in forge.owners:
                names = {owner.login.lower(), owner.id} & wanted
                if names:
                    found |= names
                    matches.append(owner)
            if matches:
                kept.append(dataclasses.replace(forge, owners=tuple(matches)))
    for login in sorted(wanted - found):
        under = f" under {', '.join(sorted(hosts))}" if hosts else ""
        message = f"owner '{login}' is not in the configuration{under}"
        issues.append(ConfigIssue(config.path, 0, message))
    if issues:
        raise ConfigError(issues)
    return Config(path=config.path, forges=tuple(kept))


def default_api_url(host: str, kind: str) -> str:
    """Where a forge's API answers when the file does not say (see config/SOURCES.md)."""
    if kind == "github":
        return "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"
    if kind == "gitlab":
        return f"https://{host}/api/v4"
    if kind in ("gitea", "gogs"):
        return f"https://{host}/api/v1"
    if kind == "sourcehut":
        return f"https://{host}/query"
    raise ValueError(f"unknown forge kind {kind!r}")


def token_variables(forge: ForgeConfig) -> tuple[str, ...]:
    """The environment variables that may hold the forge's token, in order of preference.

    github.com reads ``GITHUB_TOKEN``; gitlab.com ``GITLAB_TOKEN_GITLAB_COM`` then
    ``GITLAB_TOKEN``; any other host only ``<KIND>_TOKEN_<HOST>``, the host upper-cased with
    every other character than a letter or digit replaced by ``_``
    (``GITLAB_TOKEN_GITLAB_ADULLACT_NET``, ``GITHUB_TOKEN_GITHUB_EXAMPLE_GOUV_FR``): a token is
    never sent to a host it was not made for.
    """
    prefix = f"{forge.kind.upper()}_TOKEN"
    per_host = f"{prefix}_{_env_suffix(forge.host)}"
    if forge.kind == "github" and forge.host == "github.com":
        return ("GITHUB_TOKEN",)
    if forge.kind == "gitlab" and forge.host == "gitlab.com":
        return (per_host, "GITLAB_TOKEN")
    return (per_host,)


def token_for(forge: ForgeConfig, environ: Mapping[str, str] = os.environ) -> str | None:
    """The forge's token from the environment (see :func:`token_variables`); empty means unset.

    No token is given when ``api_url`` points at another host than the forge's own (or its
    ``api.`` subdomain, or a host that resolves to loopback addresses only): a contributed
    ``api_url`` must not be able to collect the crawler's tokens. The token is registered for
    masking (``crawler.redact``): never logged nor stored.
    """
    for variable in token_variables(forge):
        token = environ.get(variable, "")
        if not token:
            continue
        register(token)
        if not _api_host_trusted(forge):
            log.warning(
                "%s: %s is set but not sent, api_url %s is not on the forge's host",
                forge.host,
                variable,
                forge.api_url,
            )
            return None
        return token
    return None


def _api_host_trusted(forge: ForgeConfig) -> bool:
    api_host = (urlsplit(forge.api_url).hostname or "").lower()
    host = forge.host.split(":")[0]
    return api_host in (host, f"api.{host}") or _is_loopback(api_host)


def _env_suffix(host: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", host.upper())


def _is_loopback(host: str) -> bool:
    """Whether every address the host resolves to is a loopback one: decided by the addresses,
    never by the name (``x.localhost`` may resolve anywhere, or nowhere)."""
    addresses = resolve(host)
    return bool(addresses) and all(address.is_loopback for address in addresses)


def resolve(host: str) -> tuple[IPAddress, ...]:
    """The addresses of a host: its IP literal, else what the system's resolver answers; none
    when it cannot be resolved."""
    literal = _literal(host)
    if literal is not None:
        return (literal,)
    try:
        infos = socket.getaddrinfo(host.rstrip("."), None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    found: list[IPAddress] = []
    for info in infos:
        address = _literal(str(info[4][0]).split("%")[0])
        if address is not None and address not in found:
            found.append(address)
    return tuple(found)


def _literal(host: str) -> IPAddress | None:
    """The address a host names by itself: IPv4 and IPv6 literals, IPv4 in IPv6, and the legacy
    IPv4 forms the system also reads (``2852039166``, ``0xa9fea9fe``, ``169.254.43518``)."""
    host = host.strip("[]").rstrip(".").lower()
    address: IPAddress
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not re.fullmatch(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}", host):
            return None
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def link_local_target(url: str, *, resolve_names: bool = True) -> str | None:
    """What makes ``url`` aim at a link-local or cloud metadata address (its name, or its
    address), or ``None``. Host names are resolved only when ``resolve_names``."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:  # a bad host, reported on its own
        return None
    if not host:
        return None
    if host in METADATA_NAMES:
        return host
    literal = _literal(host)
    addresses = (literal,) if literal is not None else resolve(host) if resolve_names else ()
    for address in addresses:
        if any(address in network for network in LINK_LOCAL_NETWORKS):
            return host if str(address) == host else f"{host} ({address})"
    return None


#: code.gouv.fr's accounts file is ~100 kB; a larger one (or /dev/zero) is not read.
MAX_CONFIG_BYTES = 2 * 1024 * 1024


def _compose(path: Path) -> yaml.Node | None:
    where = str(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            message = f"the file is larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB"
            raise ConfigError([ConfigIssue(where, 0, message)])
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(where, 0, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigIssue(where, 0, f"cannot read the file: {error}")]) from None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        problem = ", ".join(part for part in (error.context, error.problem) if part)
        raise ConfigError([ConfigIssue(where, line, f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError as error:
        raise ConfigError([ConfigIssue(where, 0, f"YAML syntax error: {error}")]) from None


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 0


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _got(node: yaml.Node | None) -> str:
    """What a node holds, for "got ..." in messages."""
    if node is None or _is_null(node):
        return "nothing"
    if isinstance(node, yaml.ScalarNode):
        return f"'{node.value}'" if str(node.value).strip() else "nothing"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "a mapping" if node.value else "an empty mapping"


def _text(node: yaml.Node) -> str:
    """A short rendering of a node for messages."""
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


@dataclass
class _Settings:
    """The settings a host and an owner share; None when absent or in error."""

    pso_id: str | None = None
    floss_policy: str | None = None
    ospo_url: str | None = None
    ignored_since: dt.date | None = None
    name: str | None = None
    ministry: str | None = None

    def inherit(self, host: _Settings) -> _Settings:
        return dataclasses.replace(
            self,
            **{name: getattr(self, name) or getattr(host, name) for name in INHERITED},
        )


_Fields = dict[str, tuple[yaml.Node, yaml.Node]]


def _value(fields: _Fields, name: str) -> yaml.Node | None:
    return fields[name][1] if name in fields else None


class _Parser:
    """Walks the composed document and collects every issue instead of stopping at the first.

    Records are built as if each faulty value were absent; they are thrown away when any issue
    was found, so they only need to be right for a valid file.
    """

    def __init__(self, path: str, ministries: Mapping[str, str]) -> None:
        self.path = path
        self.ministries = ministries
        self.issues: list[ConfigIssue] = []

    def issue(self, node: yaml.Node | None, message: str) -> None:
        self.issues.append(ConfigIssue(self.path, _line(node), message))

    def parse(self, root: yaml.Node | None) -> list[ForgeConfig]:
        if root is None or _is_null(root):
            self.issue(root, "the file is empty: expected a mapping of forge hosts")
            return []
        if not isinstance(root, yaml.MappingNode):
            self.issue(root, f"expected a mapping of forge hosts, got {_got(root)}")
            return []
        forges: list[ForgeConfig] = []
        seen: dict[str, int] = {}
        for key, value in root.value:
            host = self.host(key)
            if host in seen:
                self.issue(key, f"host '{host}' is listed twice (first at line {seen[host]})")
            elif host is not None:
                seen[host] = _line(key)
            forge = self.forge(host or _text(key), key, value)
            if forge is not None:
                forges.append(forge)
        self.token_collisions(forges)
        return forges

    def token_collisions(self, forges: Sequence[ForgeConfig]) -> None:
        """Two hosts whose token variables are the same name (``gitlab-adullact.net`` and
        ``gitlab.adullact.net`` both read ``GITLAB_TOKEN_GITLAB_ADULLACT_NET``): whichever token
        is set would be sent to both."""
        claimed: dict[str, ForgeConfig] = {}
        for forge in forges:
            for variable in token_variables(forge):
                first = claimed.setdefault(variable, forge)
                if first.host != forge.host:
                    self.issues.append(
                        ConfigIssue(
                            self.path,
                            forge.line,
                            f"{forge.host}: its token variable {variable} is also that of "
                            f"'{first.host}' (line {first.line}): a token meant for one would be "
                            "sent to the other; only one of them can be listed",
                        )
                    )
                    break

    def host(self, key: yaml.Node) -> str | None:
        if not isinstance(key, yaml.ScalarNode) or _is_null(key) or not key.value.strip():
            self.issue(key, f"expected a forge host name as key, got {_got(key)}")
            return None
        text = str(key.value).strip()
        host = text.lower()
        if "/" in host:
            self.issue(
                key, f"'{text}' is not a host name: write the host alone, without scheme or path"
            )
            return None
        match = _HOST_RE.match(host)
        if not match or len(host) > 253 or not 0 < int(match["port"] or 1) < 65536:
            self.issue(key, f"'{text}' is not a valid host name")
            return None
        return host

    def forge(self, host: str, key: yaml.Node, node: yaml.Node) -> ForgeConfig | None:
        if not isinstance(node, yaml.MappingNode):
            self.issue(
                key if _is_null(node) else node,
                f"{host}: expected the forge's settings (at least 'forge: KIND'), got {_got(node)}",
            )
            return None
        fields = self.fields(node, HOST_KEYS, host, "a forge host")
        kind = self.kind(host, key, fields.get("forge"))
        settings = self.settings(host, fields)
        api_url = self.url(host, "api_url", _value(fields, "api_url"))
        owners = []
        if "owners" in fields:
            owners = self.owners(host, kind, fields["owners"][1], settings)
        if kind is None:
            return None
        allow_link_local = self.flag(host, "allow_link_local", _value(fields, "allow_link_local"))
        target = (api_url or default_api_url(host, kind)).rstrip("/")
        # Names are resolved for an api_url the file sets; a default one is the host's own name.
        aimed = link_local_target(target, resolve_names=api_url is not None)
        if aimed and not allow_link_local:
            self.issue(
                _value(fields, "api_url") or key,
                f"{host}: the API would be sought at a link-local or cloud metadata address "
                f"({aimed}): refused; set 'allow_link_local: true' on the host if it really is "
                "the forge",
            )
        return ForgeConfig(
            host=host,
            kind=kind,
            api_url=target,
            owners=tuple(owners),
            line=_line(key),
            pso_id=settings.pso_id,
            ministry=self.ministry(settings),
            name=settings.name,
            floss_policy=settings.floss_policy,
            ospo_url=settings.ospo_url,
            ignored_since=settings.ignored_since,
        )

    def fields(
        self, node: yaml.MappingNode, accepted: Sequence[str], where: str, level: str
    ) -> _Fields:
        """The mapping's keys → (key node, value node); unknown and repeated keys are reported."""
        found: _Fields = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else _text(key)
            if name in found and name == "owners":
                first = _line(found[name][0])
                self.issue(key, f"{where}: 'owners' is repeated (first at line {first})")
            elif name in found:
                # The upstream file has one (gitlab.mim-libre.fr's pso_id); code.gouv.fr reads it
                # with PyYAML, which keeps the last value: do the same, but say so.
                first = _line(found[name][0])
                message = f"{where}: '{name}' is repeated (first at line {first}), the last is kept"
                log.warning("%s", ConfigIssue(self.path, _line(key), message))
                found[name] = (key, value)
            elif name in accepted:
                found[name] = (key, value)
            elif level == "an owner" and name in HOST_KEYS:
                self.issue(key, f"{where}: '{name}' is set on the forge host, not on an owner")
            else:
                close = difflib.get_close_matches(name, accepted, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.issue(
                    key,
                    f"{where}: unknown key '{name}'{hint}; accepted keys on {level}: "
                    + ", ".join(accepted),
                )
        return found

    def kind(
        self, host: str, key: yaml.Node, field: tuple[yaml.Node, yaml.Node] | None
    ) -> str | None:
        expected = ", ".join(FORGE_KINDS)
        if field is None:
            self.issue(key, f"{host}: missing 'forge' (one of {expected})")
            return None
        node = field[1]
        kind = str(node.value).strip().lower() if isinstance(node, yaml.ScalarNode) else ""
        if kind not in FORGE_KINDS:
            if isinstance(node, yaml.ScalarNode) and kind:
                message = f"unknown forge kind '{node.value}' (expected one of {expected})"
            else:
                message = f"'forge' must be one of {expected}, got {_got(node)}"
            self.issue(node, f"{host}: {message}")
            return None
        return kind

    def settings(self, where: str, fields: _Fields) -> _Settings:
        return _Settings(
            pso_id=self.pso_id(where, _value(fields, "pso_id")),
            floss_policy=self.url(where, "floss_policy", _value(fields, "floss_policy")),
            ospo_url=self.url(where, "ospo_url", _value(fields, "ospo_url")),
            ignored_since=self.date(where, _value(fields, "ignored_since")),
            name=self.scalar(where, "name", _value(fields, "name"), "a string"),
            ministry=self.scalar(where, "ministry", _value(fields, "ministry"), "a string"),
        )

    def owners(
        self, host: str, kind: str | None, node: yaml.Node, inherited: _Settings
    ) -> list[OwnerConfig]:
        if not isinstance(node, yaml.MappingNode) or not node.value:
            self.issue(
                node,
                f"{host}: 'owners' must be a mapping of account logins ('login:' on its own "
                f"line), got {_got(node)}; remove 'owners' to crawl the whole forge",
            )
            return []
        owners: list[OwnerConfig] = []
        seen: dict[str, int] = {}
        for key, value in node.value:
            login = self.login(host, kind, key)
            if login is None:
                continue
            if login.lower() in seen:
                first = seen[login.lower()]
                self.issue(key, f"{host}: owner '{login}' is listed twice (first at line {first})")
                continue
            seen[login.lower()] = _line(key)
            where = f"{host} › {login}"
            if _is_null(value):
                settings = _Settings()
            elif isinstance(value, yaml.MappingNode):
                settings = self.settings(where, self.fields(value, OWNER_KEYS, where, "an owner"))
            else:
                self.issue(
                    value,
                    f"{where}: expected the owner's settings ({', '.join(OWNER_KEYS)}) or "
                    f"nothing, got {_got(value)}",
                )
                continue
            settings = settings.inherit(inherited)
            owners.append(
                OwnerConfig(
                    forge=host,
                    login=login,
                    line=_line(key),
                    pso_id=settings.pso_id,
                    ministry=self.ministry(settings),
                    name=settings.name,
                    floss_policy=settings.floss_policy,
                    ospo_url=settings.ospo_url,
                    ignored_since=settings.ignored_since,
                )
            )
        return owners

    def login(self, host: str, kind: str | None, key: yaml.Node) -> str | None:
        if not isinstance(key, yaml.ScalarNode) or _is_null(key) or not key.value.strip():
            self.issue(key, f"{host}: expected an account login, got {_got(key)}")
            return None
        login = str(key.value).strip()
        if not _LOGIN_RE.match(login):
            self.issue(
                key,
                f"{host}: '{login}' is not an account login or group path "
                "(letters, digits, '-', '_', '.', and '/' between subgroups)",
            )
            return None
        if kind == "github" and "/" in login:
            self.issue(key, f"{host}: '{login}' is not a GitHub login (they have no '/')")
            return None
        return login

    def ministry(self, settings: _Settings) -> str | None:
        if settings.ministry:
            return settings.ministry
        return self.ministries.get(settings.pso_id) if settings.pso_id else None

    def flag(self, where: str, key: str, node: yaml.Node | None) -> bool:
        """A YAML boolean; False when absent, or reported when something else."""
        if node is None:
            return False
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL_TAG:
            return str(node.value).lower() in ("true", "yes", "on")
        self.issue(node, f"{where}: '{key}' must be true or false, got {_got(node)}")
        return False

    def scalar(self, where: str, key: str, node: yaml.Node | None, expected: str) -> str | None:
        """The node's text; None when absent, or reported when not a non-empty scalar."""
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode) and not _is_null(node) and node.value.strip():
            return str(node.value).strip()
        self.issue(node, f"{where}: '{key}' must be {expected}, got {_got(node)}")
        return None

    def pso_id(self, where: str, node: yaml.Node | None) -> str | None:
        text = self.scalar(where, "pso_id", node, "a UUID")
        if text is None:
            return None
        if not _UUID_RE.match(text):
            self.issue(
                node,
                f"{where}: 'pso_id' must be a UUID (the organisation's id on "
                f"lannuaire.service-public.fr), got '{text}'",
            )
            return None
        return text.lower()

    def date(self, where: str, node: yaml.Node | None) -> dt.date | None:
        # The node's text, not PyYAML's value: an unquoted 2024-13-45 would make it raise, and a
        # quoted '2024-08-09' (a string to PyYAML) is accepted as well.
        text = self.scalar(where, "ignored_since", node, "a date (YYYY-MM-DD)")
        if text is None:
            return None
        try:
            if _DATE_RE.match(text):
                return dt.date.fromisoformat(text)
        except ValueError:
            pass
        self.issue(node, f"{where}: 'ignored_since': bad date '{text}' (expected YYYY-MM-DD)")
        return None

    def url(self, where: str, key: str, node: yaml.Node | None) -> str | None:
        """An absolute http(s) URL; plain http only on a loopback host (the local forge).

        The documentation links (floss_policy, ospo_url) follow the same rule as api_url: the
        upstream file has no plain-http link, and a link shown on the site should be https.
        """
        text = self.scalar(where, key, node, "an absolute URL")
        if text is None:
            return None
        parts = urlsplit(text)
        if "@" in parts.netloc:
            # Not echoed: it may hold a secret. Tokens come from the environment only.
            self.issue(node, f"{where}: '{key}' must not carry credentials")
            return None
        try:
            hostname = parts.hostname
            _ = parts.port  # raises ValueError on a bad port
        except ValueError:
            hostname = None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not hostname or re.search(r"\s", text):
            self.issue(node, f"{where}: '{key}' must be an absolute http(s) URL, got '{text}'")
            return None
        if scheme == "http" and not _is_loopback(hostname):
            self.issue(
                node,
                f"{where}: '{key}' must use https (plain http only on a loopback address), "
                f"got '{text}'",
            )
            return None
        return text
