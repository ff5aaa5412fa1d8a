"""The [[alerts.*]] sections of the config file: what is accepted, and one-line reasons for
what is not (a secret is never accepted in the file itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provscan.config import ConfigError, Settings, load_config, split_host_port


def _load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_every_kind_of_sink_is_read(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        """
[alerts]
send_after_scan = false

[[alerts.syslog]]
name = "siem-udp"
address = "127.0.0.1:514"

[[alerts.syslog]]
name = "siem-tls"
address = "[::1]:6514"
protocol = "tls"
format = "cef"
tls_ca_file = "/etc/provscan/siem-ca.pem"

[[alerts.file]]
name = "shipper"
path = "/var/log/provscan/events.jsonl"

[[alerts.webhook]]
name = "chat"
url = "https://127.0.0.1:8443/hooks/provscan"
secret_header = "Authorization"
secret_env = "PROVSCAN_WEBHOOK_TOKEN"
retries = 5
""",
    )
    alerts = settings.alerts
    assert [s.name for s in alerts.sinks()] == ["siem-udp", "siem-tls", "shipper", "chat"]
    assert alerts.syslog[1].protocol == "tls" and alerts.syslog[1].tls_verify
    assert alerts.webhook[0].retries == 5 and not alerts.send_after_scan


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[[alerts.syslog]]\nname = "s"\naddress = "127.0.0.1"', "alerts.syslog.0.address"),
        ('[[alerts.syslog]]\nname = "s"\naddress = "127.0.0.1:0"', "port '0' is not 1-65535"),
        ('[[alerts.syslog]]\nname = "s"\naddress = "::1:514"', "[address]:port"),
        (
            '[[alerts.syslog]]\nname = "s"\naddress = "127.0.0.1:514"\ntls_verify = false',
            "need protocol = 'tls'",
        ),
        (
            '[[alerts.syslog]]\nname = "s"\naddress = "127.0.0.1:514"\nprotocol = "relp"',
            "alerts.syslog.0.protocol",
        ),
        (
            '[[alerts.syslog]]\nname = "bad name!"\naddress = "127.0.0.1:514"',
            "alerts.syslog.0.name",
        ),
        ('[[alerts.webhook]]\nname = "w"\nurl = "ftp://127.0.0.1/x"', "http:// or https://"),
        ('[[alerts.webhook]]\nname = "w"\nurl = "http://u:p@127.0.0.1/x"', "user or password"),
        (
            '[[alerts.webhook]]\nname = "w"\nurl = "http://127.0.0.1/x"\nsecret_env = "T"',
            "secret_header goes with",
        ),
        (
            '[[alerts.webhook]]\nname = "w"\nurl = "http://127.0.0.1/x"\n'
            'secret_header = "Authorization"\nsecret_env = "T"\nsecret_file = "/t"',
            "not both",
        ),
        (
            '[[alerts.webhook]]\nname = "w"\nurl = "http://127.0.0.1/x"\ntoken = "abc"',
            "alerts.webhook.0.token",
        ),
        ('[[alerts.file]]\nname = "f"\npath = "/tmp/x"\nbatch_size = 0', "batch_size"),
    ],
)
def test_bad_sinks_are_one_line_config_errors(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    message = str(caught.value)
    assert reason in message and "\n" not in message
    assert "abc" not in message  # a value written where a secret would go is not echoed


def test_host_and_port_are_split_for_both_families() -> None:
    assert split_host_port("127.0.0.1:514") == ("127.0.0.1", 514)
    assert split_host_port("[::1]:6514") == ("::1", 6514)
    assert split_host_port("siem.example:601") == ("siem.example", 601)


def test_the_readme_example_is_a_valid_config(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Alerts to the SIEM", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    settings = _load(tmp_path, example)
    names = [sink.name for sink in settings.alerts.sinks()]
    assert names == ["siem", "shipper", "chat"]
