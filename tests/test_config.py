"""Configuration: defaults, the TOML file, environment overrides, and clear errors."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from roost.config import Config, ConfigError, Ports, find_config_file, load_config

README = Path(__file__).resolve().parent.parent / "README.md"


def fixed_hostname() -> str:
    return "mail.test"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults(tmp_path: Path) -> None:
    config = load_config(None, {}, hostname=fixed_hostname)
    assert config.data_dir == tmp_path / "roost-data"
    assert config.hostname == "mail.test"
    assert config.bind == "127.0.0.1"
    assert config.ports == Ports(
        imap=1143,
        imaps=1993,
        pop3=1110,
        pop3s=1995,
        submission=1587,
        submissions=1465,
        smtp=2525,
        lmtp=1024,
        http=8080,
    )
    assert config.tls.cert == tmp_path / "roost-data" / "tls" / "cert.pem"
    assert config.tls.key == tmp_path / "roost-data" / "tls" / "key.pem"
    assert config.max_message_size == 50 * 1024 * 1024
    assert config.max_line_length == 64 * 1024
    assert config.idle_keepalive == 120
    assert config.log_level == "INFO"
    assert config.allow_plaintext_auth_on_loopback is True
    assert config.retention_days == 180
    assert config.maintenance_interval == 6 * 3600
    assert config.pop3_retr_marks_seen is False
    assert config.database_url == ""  # the embedded SQLite store in data_dir


def test_database_url_from_the_file_and_the_environment(tmp_path: Path) -> None:
    url = "postgresql://roost@db.example/mail?sslmode=verify-full"
    path = write(tmp_path / "roost.toml", f'database_url = "{url}"\n')
    assert load_config(path, {}, hostname=fixed_hostname).database_url == url
    other = "postgres://node@/roost?host=/run/postgresql"
    environ = {"ROOST_DATABASE_URL": other}
    assert load_config(path, environ, hostname=fixed_hostname).database_url == other
    # Empty counts as unset: the file's URL stays.
    assert (
        load_config(path, {"ROOST_DATABASE_URL": ""}, hostname=fixed_hostname).database_url == url
    )


def test_workers_from_the_file_and_the_environment(tmp_path: Path) -> None:
    assert load_config(None, {}, hostname=fixed_hostname).workers == 1
    path = write(tmp_path / "roost.toml", "workers = 4\n")
    assert load_config(path, {}, hostname=fixed_hostname).workers == 4
    assert load_config(path, {"ROOST_WORKERS": "2"}, hostname=fixed_hostname).workers == 2
    with pytest.raises(ConfigError, match="ROOST_WORKERS must be a whole number"):
        load_config(None, {"ROOST_WORKERS": "many"}, hostname=fixed_hostname)
    with pytest.raises(ConfigError, match="'workers' must be at least 1"):
        load_config(None, {"ROOST_WORKERS": "0"}, hostname=fixed_hostname)


@pytest.mark.parametrize("url", ["mysql://x/y", "roost.db", "sqlite:///x"])
def test_database_url_must_be_postgresql(url: str) -> None:
    with pytest.raises(ConfigError, match="'database_url' must be empty or a postgresql://"):
        load_config(None, {"ROOST_DATABASE_URL": url}, hostname=fixed_hostname)


def test_default_hostname_is_never_empty() -> None:
    assert load_config(None, {}).hostname


def test_config_is_frozen() -> None:
    config = load_config(None, {}, hostname=fixed_hostname)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.bind = "0.0.0.0"  # type: ignore[misc]


def test_file_sets_everything(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = write(
        tmp_path / "etc" / "roost.toml",
        """
        data_dir = "/var/lib/roost"
        hostname = "mail.example.org"
        bind = "::"
        max_message_size = 1000
        max_line_length = 8192
        idle_keepalive = 30
        log_level = "debug"
        allow_plaintext_auth_on_loopback = false
        pop3_retr_marks_seen = true

        [ports]
        imap = 143
        imaps = 993
        pop3 = 0
        pop3s = 0
        submission = 587
        submissions = 465
        smtp = 25
        lmtp = 24
        http = 0

        [tls]
        cert = "certs/fullchain.pem"
        key = "/etc/ssl/private/roost.pem"
        """,
    )
    config = load_config(path, {}, hostname=fixed_hostname)
    assert config == Config(
        data_dir=Path("/var/lib/roost"),
        hostname="mail.example.org",
        bind="::",
        ports=Ports(
            imap=143,
            imaps=993,
            pop3=0,
            pop3s=0,
            submission=587,
            submissions=465,
            smtp=25,
            lmtp=24,
            http=0,
        ),
        # relative paths in a file are relative to the file's directory
        tls=dataclasses.replace(
            config.tls,
            cert=tmp_path / "etc" / "certs" / "fullchain.pem",
            key=Path("/etc/ssl/private/roost.pem"),
        ),
        max_message_size=1000,
        max_line_length=8192,
        idle_keepalive=30,
        log_level="DEBUG",
        allow_plaintext_auth_on_loopback=False,
        pop3_retr_marks_seen=True,
    )


def test_partial_file_keeps_other_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "roost.toml", "[ports]\nimap = 143\n")
    config = load_config(path, {}, hostname=fixed_hostname)
    assert config.ports.imap == 143
    assert config.ports.imaps == 1993
    assert config.data_dir == tmp_path / "roost-data"


def test_tls_paths_follow_data_dir(tmp_path: Path) -> None:
    path = write(tmp_path / "roost.toml", 'data_dir = "store"\n')
    config = load_config(path, {}, hostname=fixed_hostname)
    assert config.data_dir == tmp_path / "store"
    assert config.tls.cert == tmp_path / "store" / "tls" / "cert.pem"
    assert config.tls.key == tmp_path / "store" / "tls" / "key.pem"


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "roost.toml",
        'data_dir = "/from/file"\nbind = "10.0.0.1"\nhostname = "file.example"\n'
        "[ports]\nimap = 143\nsmtp = 25\n",
    )
    environ = {
        "ROOST_DATA_DIR": "/from/env",
        "ROOST_BIND": "0.0.0.0",
        "ROOST_HOSTNAME": "env.example",
        "ROOST_IMAP_PORT": "10143",
        "ROOST_IMAPS_PORT": "10993",
        "ROOST_POP3_PORT": "10110",
        "ROOST_POP3S_PORT": "10995",
        "ROOST_SUBMISSION_PORT": "10587",
        "ROOST_SUBMISSIONS_PORT": "10465",
        "ROOST_SMTP_PORT": "0",
        "ROOST_LMTP_PORT": "10024",
        "ROOST_HTTP_PORT": "10080",
    }
    config = load_config(path, environ, hostname=fixed_hostname)
    assert config.data_dir == Path("/from/env")
    assert config.tls.cert == Path("/from/env/tls/cert.pem")
    assert config.bind == "0.0.0.0"
    assert config.hostname == "env.example"
    assert config.ports == Ports(
        imap=10143,
        imaps=10993,
        pop3=10110,
        pop3s=10995,
        submission=10587,
        submissions=10465,
        smtp=0,
        lmtp=10024,
        http=10080,
    )


def test_environment_relative_data_dir_is_relative_to_working_directory(tmp_path: Path) -> None:
    config = load_config(None, {"ROOST_DATA_DIR": "data"}, hostname=fixed_hostname)
    assert config.data_dir == tmp_path / "data"


def test_empty_environment_variable_counts_as_unset() -> None:
    config = load_config(None, {"ROOST_IMAP_PORT": "", "ROOST_BIND": " "}, hostname=fixed_hostname)
    assert config.ports.imap == 1143
    assert config.bind == "127.0.0.1"


def test_unrelated_environment_is_ignored() -> None:
    config = load_config(None, {"ROOST_FOO": "1", "HOME": "/"}, hostname=fixed_hostname)
    assert config == load_config(None, {}, hostname=fixed_hostname)


def test_several_listeners_may_be_disabled() -> None:
    environ = {"ROOST_POP3_PORT": "0", "ROOST_POP3S_PORT": "0", "ROOST_HTTP_PORT": "0"}
    config = load_config(None, environ, hostname=fixed_hostname)
    assert config.ports.pop3 == config.ports.pop3s == config.ports.http == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "unknown setting 'colour'"),
        ("[ports]\nimapx = 1\n", "unknown setting 'ports.imapx'"),
        ("[tls]\nchain = 'x'\n", "unknown setting 'tls.chain'"),
        ("[smtp]\nrelay = 'x'\n", "unknown setting 'smtp'"),
        ("ports = 143\n", "'ports' must be a table"),
        ("[ports]\nimap = '143'\n", "'ports.imap' must be an integer, not str"),
        ("[ports]\nimap = true\n", "'ports.imap' must be an integer, not bool"),
        ("[ports]\nimap = 70000\n", "'ports.imap' must be between 0 and 65535"),
        ("[ports]\nimap = -1\n", "'ports.imap' must be between 0 and 65535"),
        ("[ports]\nimaps = 1143\n", "'ports.imaps' and 'ports.imap' both use port 1143"),
        ("max_message_size = 1.5\n", "'max_message_size' must be an integer, not float"),
        ("max_message_size = 0\n", "'max_message_size' must be at least 1"),
        ("max_line_length = 80\n", "'max_line_length' must be at least 1024"),
        ("idle_keepalive = 0\n", "'idle_keepalive' must be at least 1"),
        ("retention_days = 1\n", "'retention_days' must be at least 7"),
        ("max_recipients = 10\n", "'max_recipients' must be at least 100"),
        ("maintenance_interval = 5\n", "'maintenance_interval' must be at least 60"),
        ("allow_plaintext_auth_on_loopback = 'yes'\n", "must be true or false, not str"),
        ("pop3_retr_marks_seen = 1\n", "'pop3_retr_marks_seen' must be true or false, not int"),
        ("data_dir = 5\n", "'data_dir' must be a string, not int"),
        ("log_level = 'LOUD'\n", "'log_level' must be one of DEBUG, INFO"),
        ("hostname = ''\n", "'hostname' must not be empty"),
        ("bind = ''\n", "'bind' must not be empty"),
    ],
)
def test_bad_file_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "roost.toml", text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path, {}, hostname=fixed_hostname)


def test_unknown_key_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "roost.toml", "colour = 1\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: unknown setting 'colour'")):
        load_config(path, {}, hostname=fixed_hostname)


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path / "roost.toml", "[ports\nimap = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, {}, hostname=fixed_hostname)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml", {}, hostname=fixed_hostname)


@pytest.mark.parametrize("value", ["abc", "1.5", "70000", "-1"])
def test_bad_environment_port_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="ROOST_IMAPS_PORT"):
        load_config(None, {"ROOST_IMAPS_PORT": value}, hostname=fixed_hostname)


def test_readme_example_lists_every_setting_with_its_default(tmp_path: Path) -> None:
    """The README's example configuration is the defaults, spelled out."""
    match = re.search(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert match, "README.md has a ```toml example"
    example = match.group(1)
    path = write(tmp_path / "roost.toml", example)
    assert load_config(path, {}, hostname=fixed_hostname) == load_config(
        None, {}, hostname=fixed_hostname
    )
    for field in dataclasses.fields(Config):
        if field.name not in ("ports", "tls"):
            assert re.search(rf"^#? ?{field.name} = ", example, re.MULTILINE), field.name
    for field in dataclasses.fields(Ports):
        assert re.search(rf"^{field.name} = ", example, re.MULTILINE), field.name


# ----- operations (issue 13) --------------------------------------------------------------


def test_operations_defaults() -> None:
    config = load_config(None, {}, hostname=fixed_hostname)
    assert config.ports.https == 8443
    assert config.log_format == "text"
    assert (config.lmtp_socket_owner, config.lmtp_socket_mode) == ("", "0660")
    assert config.postmaster == ""
    assert (config.recipient_delimiter, config.deliver_to_tag_mailbox) == ("+", False)


def test_operations_from_the_environment() -> None:
    config = load_config(
        None,
        {"ROOST_HTTPS_PORT": "443", "ROOST_LOG_FORMAT": "JSON", "ROOST_LOG_LEVEL": "debug"},
        hostname=fixed_hostname,
    )
    assert (config.ports.https, config.log_format, config.log_level) == (443, "json", "DEBUG")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('log_format = "xml"', "'log_format' must be one of text, json"),
        ('lmtp_socket_mode = "rw"', "'lmtp_socket_mode' must be an octal mode"),
        ('lmtp_socket_mode = "0999"', "'lmtp_socket_mode' must be an octal mode"),
        ('postmaster = "admin"', "'postmaster' must be an address"),
        ('recipient_delimiter = "++"', "'recipient_delimiter' must be one character"),
        ('recipient_delimiter = "@"', "'recipient_delimiter' must be one character"),
        ("[ports]\nhttps = 8080", "'ports.https' and 'ports.http' both use port 8080"),
    ],
)
def test_operations_settings_are_checked(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "roost.toml", text + "\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path, {}, hostname=fixed_hostname)


def test_empty_recipient_delimiter_turns_plus_addressing_off(tmp_path: Path) -> None:
    path = write(tmp_path / "roost.toml", 'recipient_delimiter = ""\n')
    assert load_config(path, {}, hostname=fixed_hostname).recipient_delimiter == ""


def test_the_configuration_file_is_found_like_the_server_finds_it(tmp_path: Path) -> None:
    system = tmp_path / "etc" / "roost.toml"
    explicit = tmp_path / "given.toml"
    assert find_config_file(explicit, {"ROOST_CONFIG": "/x.toml"}, system) == explicit
    assert find_config_file(None, {"ROOST_CONFIG": "/x.toml"}, system) == Path("/x.toml")
    assert find_config_file(None, {"ROOST_CONFIG": " "}, system) is None  # absent: no file
    system.parent.mkdir()
    write(system, "")
    assert find_config_file(None, {}, system) == system
