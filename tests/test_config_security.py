"""Configuration decisions that keep tokens with their forge (issue 9): token variable
collisions, loopback decided by the resolved address, link-local and cloud metadata targets."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.config import ConfigError, load_config, token_for
from crawler.models import ForgeConfig

ROOT = Path(__file__).resolve().parent.parent
REAL_GETADDRINFO = socket.getaddrinfo


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "organisations.yml"
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(path: Path) -> list:
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return raised.value.issues


@pytest.fixture()
def dns(monkeypatch):
    """A resolver that knows the names a test gives it, and only those."""
    names: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0))
                for a in names[host]
            ]
        if host in ("localhost", "127.0.0.1", "::1"):
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


# --- token variable collisions -----------------------------------------------------------------


def test_two_hosts_sharing_a_token_variable_are_reported_with_their_lines(tmp_path):
    path = write(
        tmp_path,
        "gitlab-adullact.net:\n"  # 1
        "  forge: gitlab\n"
        "  owners:\n"
        "    a:\n"
        "gitlab.adullact.net:\n"  # 5
        "  forge: gitlab\n"
        "  owners:\n"
        "    b:\n",
    )
    (issue,) = issues_of(path)
    assert issue.line == 5
    assert "GITLAB_TOKEN_GITLAB_ADULLACT_NET" in issue.message
    assert "'gitlab-adullact.net' (line 1)" in issue.message
    assert str(issue).startswith(f"{path}:5: gitlab.adullact.net:")


def test_a_host_reading_gitlab_com_s_variable_is_reported(tmp_path):
    path = write(
        tmp_path, "gitlab.com:\n  forge: gitlab\n  owners:\n    a:\ngitlab-com:\n  forge: gitlab\n"
    )
    (issue,) = issues_of(path)
    assert issue.line == 5 and "GITLAB_TOKEN_GITLAB_COM" in issue.message


def test_same_name_on_two_kinds_is_no_collision(tmp_path):
    path = write(
        tmp_path,
        "git.example.org:\n  forge: gitlab\n  owners:\n    a:\n"
        "git.example.org:8443:\n  forge: gitea\n  owners:\n    b:\n",
    )
    assert len(load_config(path).forges) == 2


def test_orgs_validate_reports_the_collision_and_exits_2(tmp_path):
    path = write(
        tmp_path,
        "gitlab.adullact.net:\n  forge: gitlab\ngitlab-adullact.net:\n  forge: gitlab\n",
    )
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "orgs", "validate", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "300"},
    )
    assert result.returncode == 2
    assert f"{path}:3:" in result.stderr.replace("\n", "")
    assert "GITLAB_TOKEN_GITLAB_ADULLACT_NET" in result.stderr.replace("\n", "")


# --- loopback by the resolved address ---------------------------------------------------------


def test_a_localhost_name_is_resolved_not_trusted(tmp_path, dns):
    dns["x.localhost"] = ["203.0.113.5"]
    path = write(tmp_path, "github.com:\n  forge: github\n  api_url: http://x.localhost:8000\n")
    (issue,) = issues_of(path)
    assert issue.line == 3 and "must use https" in issue.message


def test_an_unresolvable_localhost_name_is_refused(tmp_path, dns):
    path = write(tmp_path, "github.com:\n  forge: github\n  api_url: http://x.localhost:8000\n")
    (issue,) = issues_of(path)
    assert "plain http only on a loopback address" in issue.message


@pytest.mark.parametrize(
    ("addresses", "accepted"),
    [
        (["127.0.0.1"], True),
        (["::1", "127.0.0.2"], True),
        (["127.0.0.1", "203.0.113.5"], False),  # one address elsewhere is enough to refuse
        (["10.0.0.7"], False),
    ],
)
def test_plain_http_is_decided_by_every_resolved_address(tmp_path, dns, addresses, accepted):
    dns["forge.test"] = addresses
    path = write(tmp_path, "github.com:\n  forge: github\n  api_url: http://forge.test:8000\n")
    if accepted:
        assert load_config(path).forges[0].api_url == "http://forge.test:8000"
    else:
        assert "must use https" in issues_of(path)[0].message


def test_localhost_itself_still_works(tmp_path):
    path = write(tmp_path, "gitlab.com:\n  forge: gitlab\n  api_url: http://localhost:9/api/v4\n")
    assert load_config(path).forges[0].api_url == "http://localhost:9/api/v4"


def test_token_for_decides_loopback_by_address(dns):
    dns["x.localhost"] = ["203.0.113.5"]
    dns["forge.test"] = ["127.0.0.1"]
    environ = {"GITHUB_TOKEN": "ghp_FAKETOKEN0123456789"}
    away = ForgeConfig("github.com", "github", "http://x.localhost:8000")
    assert token_for(away, environ) is None
    here = ForgeConfig("github.com", "github", "http://forge.test:8000")
    assert token_for(here, environ) == "ghp_FAKETOKEN0123456789"


# --- link-local and cloud metadata -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/api/v4",
        "https://[fe80::1]/api/v4",
        "https://[::ffff:169.254.169.254]/api/v4",
        "https://2852039166/api/v4",  # 169.254.169.254 as one number
        "https://0xa9fea9fe/api/v4",
        "https://metadata.google.internal/computeMetadata/v1",
        "https://[fd00:ec2::254]/latest",
        "https://metadata.example.org/api/v4",  # a name that resolves there
    ],
)
def test_api_url_aimed_at_link_local_or_metadata_is_refused(tmp_path, dns, url):
    dns["metadata.example.org"] = ["169.254.169.254"]
    path = write(
        tmp_path, f"gitlab.example.org:\n  forge: gitlab\n  owners:\n    a:\n  api_url: {url}\n"
    )
    (issue,) = issues_of(path)
    assert issue.line == 5
    assert "link-local or cloud metadata" in issue.message and "allow_link_local" in issue.message


def test_a_link_local_host_is_refused_on_its_own_line(tmp_path):
    path = write(
        tmp_path, "gitlab.example.org:\n  forge: gitlab\n169.254.169.254:\n  forge: gitlab\n"
    )
    (issue,) = issues_of(path)
    assert issue.line == 3 and "169.254.169.254" in issue.message


def test_link_local_is_accepted_when_explicitly_allowed(tmp_path):
    path = write(
        tmp_path,
        "gitlab.example.org:\n  forge: gitlab\n  allow_link_local: true\n"
        "  api_url: https://169.254.10.20/api/v4\n",
    )
    assert load_config(path).forges[0].api_url == "https://169.254.10.20/api/v4"


def test_allow_link_local_must_be_a_boolean(tmp_path):
    path = write(
        tmp_path,
        "gitlab.example.org:\n  forge: gitlab\n  allow_link_local: 'oui'\n"
        "  api_url: https://gitlab.example.org/api/v4\n",
    )
    (issue,) = issues_of(path)
    assert issue.line == 3 and "'allow_link_local' must be true or false" in issue.message


def test_ordinary_private_and_public_addresses_are_not_link_local(tmp_path, dns):
    dns["forge.example.org"] = ["10.1.2.3"]
    path = write(
        tmp_path,
        "gitlab.example.org:\n  forge: gitlab\n  api_url: https://forge.example.org/api/v4\n"
        "gitlab.example.net:\n  forge: gitlab\n  api_url: https://192.0.2.1/api/v4\n",
    )
    assert len(load_config(path).forges) == 2
