"""`watchbook partner` and `watchbook share`, run in-process with main([...])."""

from __future__ import annotations

from pathlib import Path

import pytest
from pg import Cluster
from world import fast_hash_env

from server import cli, clock


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    fast_hash_env(monkeypatch)


@pytest.mark.parametrize("command", [["partner"], ["partner", "add"], ["partner", "user-add"],
                                     ["share"], ["share", "add"], ["share", "list"],
                                     ["share", "end"]], ids=" ".join)
def test_every_share_command_has_help(command: list[str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([*command, "--help"])
    assert exit_.value.code == 0 and "usage: watchbook" in capsys.readouterr().out


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The options that put a command on a new SQLite file, or (none, with
    WATCHBOOK_DATABASE_URL set) on a fresh schema of the session's PostgreSQL cluster."""
    if request.param == "postgres":
        cluster: Cluster = request.getfixturevalue("postgres")
        monkeypatch.setenv("WATCHBOOK_DATABASE_URL", cluster.fresh_url())
        return []
    return ["--db", str(tmp_path / "w.db")]


def test_a_share_is_made_listed_and_ended_from_the_command_line(
        where: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    db = where
    assert cli.main(["demo-data", "--premises", "20", "--stations", "2", *db]) == 0
    assert cli.main(["partner", "add", "Shire Police", "--kind", "police", *db]) == 0
    assert cli.main(["partner", "user-add", "pc.jones", "--organisation", "Shire Police",
                     "--name", "PC Jones", "--password", "a long partner password",
                     *db]) == 0
    capsys.readouterr()
    until = clock.today(30)
    assert cli.main(["share", "add", "--partner", "Shire Police", "--purpose", "Crews' safety",
                     "--expires", until, "--levels", "1,2", *db]) == 0
    assert f"Share 1 made with Shire Police, until {until}" in capsys.readouterr().out
    assert cli.main(["share", "list", "--verbose", *db]) == 0
    out = capsys.readouterr().out
    assert "live" in out and "Crews' safety" in out and "key_box" not in out
    assert cli.main(["share", "end", "1", *db]) == 0
    assert "ended" in capsys.readouterr().out
    assert cli.main(["share", "list", *db]) == 0
    assert "ended" in capsys.readouterr().out.splitlines()[1]


def test_a_partner_is_named_in_any_case_and_a_second_of_the_same_name_is_refused(
        where: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    db = where
    assert cli.main(["partner", "add", "Shire Police", "--kind", "police", *db]) == 0
    assert cli.main(["share", "add", "--partner", "shire POLICE", "--purpose", "x",
                     "--expires", clock.today(3), *db]) == 0
    assert "Share 1 made with" in capsys.readouterr().out
    assert cli.main(["partner", "add", "SHIRE police", "--kind", "council", *db]) == 1
    assert "There is an organisation named 'SHIRE police' already" in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "words"), [
    (["--expires", "2001-01-01"], "expires-on: The expiry date must be after today"),
    (["--sensitive", "key_box"], "sensitive-reason:"),
    (["--levels", "7"], "levels:"),
    (["--partner", "Nobody"], "partner: There is no partner organisation"),
])
def test_a_bad_share_is_refused_naming_the_option(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
        words: str) -> None:
    db = str(tmp_path / "w.db")
    assert cli.main(["partner", "add", "Shire Police", "--kind", "police", "--db", db]) == 0
    options = {"--partner": "Shire Police", "--purpose": "x", "--expires": clock.today(3),
               "--db": db, **dict(zip(extra[::2], extra[1::2], strict=True))}
    args = ["share", "add", *[v for pair in options.items() for v in pair]]
    assert cli.main(args) == 1
    assert words in capsys.readouterr().err
    assert cli.main(["share", "list", "--db", db]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # the header only: nothing written
