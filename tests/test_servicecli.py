"""`watchbook service` and `--service`: a deployment operator adds a second owning service
with its first admin, renames one, and each per-service command acts on the one it names."""

from __future__ import annotations

from pathlib import Path

import pytest
from world import fast_hash_env

from server import cli
from server.demo import DEMO_SERVICE


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    fast_hash_env(monkeypatch)


@pytest.mark.parametrize("command", [["service"], ["service", "add"], ["service", "rename"],
                                     ["service", "list"]], ids=" ".join)
def test_the_service_commands_have_help(command: list[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([*command, "--help"])
    assert exit_.value.code == 0 and "usage: watchbook" in capsys.readouterr().out


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()[1:]


def test_a_second_service_gets_its_admin_and_each_command_acts_on_the_one_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    secret = tmp_path / "pw"
    secret.write_text("a long admin password\n")
    assert cli.main(["demo-data", "--premises", "20", "--stations", "2", "--db", db]) == 0
    assert cli.main(["service", "add", "Bravo Fire and Rescue", "--admin", "badmin",
                     "--admin-name", "Bea Bravo", "--password-file", str(secret),
                     "--db", db]) == 0
    assert "Added the owning service Bravo Fire and Rescue" in capsys.readouterr().out
    # with two services, a per-service command must say which
    assert cli.main(["station", "add", "X01", "--name", "Xenia", "--db", db]) == 1
    assert "--service" in capsys.readouterr().err
    assert cli.main(["station", "add", "X01", "--name", "Xenia", "--service",
                     "bravo fire and rescue", "--db", db]) == 0
    assert cli.main(["user", "add", "bcrew", "--name", "Bo", "--role", "crew", "--station",
                     "X01", "--password", "bravo-crew-7", "--service",
                     "Bravo Fire and Rescue", "--db", db]) == 0
    # a station of the other service is unknown to this one
    assert cli.main(["user", "add", "sneak", "--name", "Sn", "--role", "crew", "--station",
                     "X01", "--password", "sneaky-pass-7", "--service", DEMO_SERVICE,
                     "--db", db]) == 1
    assert "station is unknown" in capsys.readouterr().err
    capsys.readouterr()
    assert cli.main(["user", "list", "--service", "Bravo Fire and Rescue", "--db", db]) == 0
    assert sorted(line.split()[0] for line in _lines(capsys)) == ["badmin", "bcrew"]
    assert cli.main(["station", "list", "--service", DEMO_SERVICE, "--db", db]) == 0
    assert "X01" not in "".join(_lines(capsys))
    out = tmp_path / "b.csv"
    assert cli.main(["export", str(out), "--service", "Bravo Fire and Rescue",
                     "--db", db]) == 0
    assert "Exported 0 premises" in capsys.readouterr().out
    assert cli.main(["service", "rename", "Alpha Fire and Rescue", "--service",
                     DEMO_SERVICE, "--db", db]) == 0
    assert cli.main(["service", "rename", "Bravo Fire and Rescue", "--service",
                     "Alpha Fire and Rescue", "--db", db]) == 1
    assert "already" in capsys.readouterr().err
    assert cli.main(["service", "list", "--db", db]) == 0
    rows = _lines(capsys)
    assert [r.split()[1] for r in rows] == ["Alpha", "Bravo"]
    assert rows[1].split()[-2:] == ["1", "2"]  # Bravo: one station, two users


def test_adding_a_service_refuses_a_taken_admin_username(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    secret = tmp_path / "pw"
    secret.write_text("a long admin password\n")
    assert cli.main(["demo-data", "--premises", "5", "--stations", "1", "--db", db]) == 0
    assert cli.main(["service", "add", "Bravo", "--admin", "admin", "--admin-name", "B",
                     "--password-file", str(secret), "--db", db]) == 1
    assert "admin: The username 'admin' is taken" in capsys.readouterr().err
    assert cli.main(["service", "list", "--db", db]) == 0
    assert len(_lines(capsys)) == 1  # nothing was written
