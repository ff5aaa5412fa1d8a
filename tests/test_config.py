"""The user's config file (issue 12): who they are, inventory and case settings; bad files
are one-line errors with exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provscan.cli import app
from provscan.config import CONFIG_ENV, ConfigError, Settings, config_path, load_config

RUNNER = CliRunner()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_file_is_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[organisation]\nas = ["ca:federal-institution", "us:federal-contractor"]\n'
        "[inventory]\ngone_after_scans = 5\n"
        "[cases]\nsla_days_restricted = 60\nsla_days_priority1 = 14\n",
    )
    settings = load_config(path)
    assert settings.organisation.acting_as == ("ca:federal-institution", "us:federal-contractor")
    assert settings.inventory.gone_after_scans == 5
    assert (settings.cases.sla_days_restricted, settings.cases.sla_days_priority1) == (60, 14)


def test_missing_sections_take_the_defaults(tmp_path: Path) -> None:
    settings = load_config(_write(tmp_path, "[inventory]\ngone_after_scans = 2\n"))
    assert settings.organisation.acting_as == ()
    assert settings.inventory.gone_after_scans == 2
    assert settings.cases == Settings().cases
    assert (Settings().cases.sla_days_restricted, Settings().cases.sla_days_priority1) == (90, 30)


def test_no_file_at_the_default_place_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setattr("platformdirs.user_config_dir", lambda name: str(tmp_path / name))
    assert config_path() == tmp_path / "provscan" / "config.toml"
    assert load_config() == Settings()


def test_the_environment_names_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "[inventory]\ngone_after_scans = 7\n")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert config_path() == path
    assert load_config().inventory.gone_after_scans == 7
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="not found"):
        load_config()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[inventory\ngone_after_scans = 3\n", "not valid TOML"),
        ("[inventory]\ngone_after_scans = 0\n", "inventory.gone_after_scans"),
        ('[inventory]\ngone_after_scans = "3"\n', "inventory.gone_after_scans"),
        ("[cases]\nsla_days_restricted = -1\n", "cases.sla_days_restricted"),
        ('[organisation]\nas = "ca:individual"\n', "organisation.as"),
        ("[organisation]\nwho = 1\n", "organisation.who"),
        ("[unknown]\nx = 1\n", "unknown"),
    ],
)
def test_a_bad_file_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    message = str(caught.value)
    assert expected in message and "\n" not in message and str(tmp_path) in message


# --- the commands read it -----------------------------------------------------------------


def _lookup(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, ["lookup", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_lookup_acts_as_the_config_says_and_as_all_ignores_it(tmp_path: Path) -> None:
    path = _write(tmp_path, '[organisation]\nas = ["ca:individual"]\n')
    env = {CONFIG_ENV: str(path)}
    code, out, _ = _lookup("Hikvision DS-2CD2143G0-I", "-f", "json", env=env)
    row = json.loads(out)
    assert code == 0 and row["acting_as"] == ["ca:individual"] and row["restricted"] is False
    # --as wins over the file
    code, out, _ = _lookup(
        "Hikvision DS-2CD2143G0-I", "-f", "json", "--as", "ca:federal-institution", env=env
    )
    assert json.loads(out)["restricted"] is True
    # --as all: nobody in particular, every measure counts
    code, out, _ = _lookup("Hikvision DS-2CD2143G0-I", "-f", "json", "--as", "all", env=env)
    row = json.loads(out)
    assert row["acting_as"] == ["all"] and row["restricted"] is True
    assert {f["binding"] for f in row["findings"]} == {None}


def test_a_malformed_config_stops_a_command_with_exit_2(tmp_path: Path) -> None:
    env = {CONFIG_ENV: str(_write(tmp_path, "[organisation\n"))}
    code, out, err = _lookup("Hikvision DS-2CD2143G0-I", env=env)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "not valid TOML" in err and "Traceback" not in err
    # An unknown org type in the file is refused the same way.
    env = {CONFIG_ENV: str(_write(tmp_path, '[organisation]\nas = ["ca:mayor"]\n'))}
    code, _, err = _lookup("Hikvision DS-2CD2143G0-I", env=env)
    assert code == 2 and "ca:mayor" in err and err.count("\n") == 1
