"""The `watchbook` command, run in-process with main([...])."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pg import Cluster
from world import fast_hash_env

from server import cli
from server.settings import Settings
from server.store.postgres.migrations import LATEST

COMMANDS = [["serve"], ["demo-data"], ["import"], ["export"], ["user"], ["user", "add"],
            ["user", "list"], ["user", "disable"], ["device"], ["device", "list"],
            ["device", "revoke"], ["purge-tombstones"], ["migrate"], [], ["init"],
            ["user", "enable"], ["user", "edit"], ["station"], ["station", "add"],
            ["station", "list"], ["station", "edit"], ["station", "retire"], ["migrate-to-postgres"]]


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    fast_hash_env(monkeypatch)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: watchbook" in capsys.readouterr().out


def test_demo_data_then_users_are_listed_and_can_be_disabled(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    assert cli.main(["demo-data", "--premises", "50", "--stations", "3", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Created 50 premises over 3 stations" in out and "'supervisor'" in out

    assert cli.main(["user", "add", "jsmith", "--name", "Jo Smith", "--role", "crew",
                     "--station", "MAR", "--password", "mill-lane-7", "--db", db]) == 0
    assert cli.main(["user", "disable", "crew", "--db", db]) == 0
    capsys.readouterr()
    assert cli.main(["user", "list", "--db", db]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert set(lines) == {"admin", "crew", "jsmith", "supervisor"}
    assert lines["crew"].endswith("disabled") and lines["jsmith"].endswith("active")
    assert "MAR" in lines["jsmith"]


def test_demo_data_refuses_a_database_that_already_has_premises(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    assert cli.main(["demo-data", "--premises", "5", "--stations", "2", "--db", db]) == 0
    assert cli.main(["demo-data", "--premises", "5", "--stations", "2", "--db", db]) == 1
    assert "already holds 5 premises" in capsys.readouterr().err


def test_user_add_prompts_for_the_password_and_rejects_a_mismatch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    answers = iter(["long enough", "different"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": next(answers))
    assert cli.main(["user", "add", "boss", "--name", "B", "--role", "admin", "--db", db]) == 1
    assert "do not match" in capsys.readouterr().err
    answers = iter(["long enough", "long enough"])
    assert cli.main(["user", "add", "boss", "--name", "B", "--role", "admin", "--db", db]) == 0


def test_user_add_reports_unknown_station_and_taken_username(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    cli.main(["demo-data", "--premises", "1", "--stations", "1", "--db", db])
    assert cli.main(["user", "add", "x", "--name", "X", "--role", "crew", "--station", "ZZZ",
                     "--password", "mill-lane-7", "--db", db]) == 1
    assert cli.main(["user", "add", "crew", "--name", "X", "--role", "crew", "--station", "WIS",
                     "--password", "mill-lane-7", "--db", db]) == 1
    assert cli.main(["user", "add", "y", "--name", "Y", "--role", "crew",
                     "--password", "mill-lane-7", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "station is unknown" in err and "username is taken" in err and "needs --station" in err


def test_user_disable_of_unknown_user_fails(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["user", "disable", "ghost", "--db", str(tmp_path / "w.db")]) == 1
    assert "no user 'ghost'" in capsys.readouterr().err


def test_migrate_prints_the_schema_version_before_and_after(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    assert cli.main(["migrate", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("Schema version 0 -> ")
    assert cli.main(["migrate", "--db", db]) == 0
    assert "(up to date)" in capsys.readouterr().out


def test_export_then_import_through_the_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    cli.main(["demo-data", "--premises", "40", "--stations", "12", "--db", source])
    cli.main(["demo-data", "--premises", "0", "--stations", "12", "--db", target])
    capsys.readouterr()
    out_file = str(tmp_path / "all.geojson")
    assert cli.main(["export", out_file, "--db", source]) == 0
    assert "sensitive fields left out" in capsys.readouterr().out
    assert "key_box" not in json.loads(Path(out_file).read_text())["features"][0]["properties"]
    assert cli.main(["import", out_file, "--db", target]) == 0
    assert "Imported 40 premises" in capsys.readouterr().out


def test_import_of_a_bad_file_lists_the_problems_and_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    cli.main(["demo-data", "--premises", "0", "--stations", "2", "--db", db])
    bad = tmp_path / "bad.csv"
    bad.write_text("id,station,name,risk_level\nb1,WIS,Fine,2\nb2,WIS,Level,9\nb3,XX,S,1\n")
    assert cli.main(["import", str(bad), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "line 3, field risk_level:" in err and "line 4, field station:" in err
    assert "Nothing imported: 2 problem(s)" in err
    assert cli.main(["import", str(bad), "--skip-invalid", "--db", db]) == 0
    captured = capsys.readouterr()
    assert "Imported 1 premises, skipped 2" in captured.out
    assert "skipped line 3, field risk_level" in captured.err


def test_import_needs_a_known_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.txt").write_text("id\n")
    assert cli.main(["import", str(tmp_path / "x.txt"), "--db", str(tmp_path / "w.db")]) == 2
    assert "--format" in capsys.readouterr().err


def test_a_lost_device_is_listed_and_revoked_with_a_wipe_order(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from server.auth import Auth
    from server.settings import Settings
    from server.store.database import Database

    db_path = tmp_path / "w.db"
    assert cli.main(["demo-data", "--premises", "5", "--stations", "2", "--db", str(db_path)]) == 0

    async def enrol() -> str:
        db = await Database(db_path).open()
        try:
            auth = Auth(db, Settings.from_env(db_path=db_path))
            who = await auth.principal_for_user(1)
            return (await auth.enrol_device(who, "Pump 2 Chromebook"))[0]
        finally:
            await db.close()
    device = asyncio.run(enrol())
    capsys.readouterr()
    assert cli.main(["device", "list", "--db", str(db_path)]) == 0
    assert device in capsys.readouterr().out
    assert cli.main(["device", "revoke", device, "--db", str(db_path)]) == 0
    assert "wipe" in capsys.readouterr().out
    assert cli.main(["device", "list", "--db", str(db_path)]) == 0
    [line] = [ln for ln in capsys.readouterr().out.splitlines() if device in ln]
    assert "revoked" in line
    assert cli.main(["device", "revoke", "nope", "--db", str(db_path)]) == 1


def test_purge_tombstones_forgets_only_long_deleted_premises(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    db_path = tmp_path / "w.db"
    assert cli.main(["demo-data", "--premises", "6", "--stations", "2", "--db", str(db_path)]) == 0
    with sqlite3.connect(db_path) as conn:  # two tombstones: one a year old, one from today
        for pid, at in (("p000001", "2025-01-01T00:00:00Z"), ("p000002", "2099-01-01T00:00:00Z")):
            conn.execute("UPDATE premises SET deleted = 1, doc = json_set(doc, '$.deleted', "
                         "json('true'), '$.updated_at', ?) WHERE id = ?", (at, pid))
    capsys.readouterr()
    assert cli.main(["purge-tombstones", "--older-than-days", "30", "--db", str(db_path)]) == 0
    assert "Purged 1 " in capsys.readouterr().out
    with sqlite3.connect(db_path) as conn:
        left = {r[0] for r in conn.execute("SELECT id FROM premises WHERE deleted = 1")}
        horizon = conn.execute("SELECT value FROM meta WHERE key = 'tombstone_horizon'").fetchone()
    assert left == {"p000002"} and int(horizon[0]) > 0


# -- stations and users over their life --------------------------------------------------------

def _stations(db: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    capsys.readouterr()
    assert cli.main(["station", "list", "--db", db]) == 0
    return {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}


def test_stations_are_added_listed_edited_and_retired(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    assert cli.main(["station", "add", "WIS", "--name", "Wisbech", "--lat", "52.66",
                     "--lon", "0.16", "--db", db]) == 0
    assert cli.main(["station", "add", "mar", "--name", "March", "--grounds", "WIS",
                     "--db", db]) == 0
    listed = _stations(db, capsys)
    assert set(listed) == {"MAR", "WIS"}
    assert "52.6600,0.1600" in listed["WIS"] and " WIS " in listed["MAR"]
    assert cli.main(["station", "edit", "MAR", "--grounds", "", "--name", "March Town",
                     "--db", db]) == 0
    listed = _stations(db, capsys)
    assert "March Town" in listed["MAR"] and " WIS " not in listed["MAR"]
    (tmp_path / "p.csv").write_text("id,station,name\nm1,MAR,Silo\n")
    assert cli.main(["import", str(tmp_path / "p.csv"), "--db", db]) == 0
    assert cli.main(["station", "retire", "MAR", "--db", db]) == 1
    assert "choose the station they move to" in capsys.readouterr().err
    assert cli.main(["station", "retire", "MAR", "--move-to", "wis", "--db", db]) == 0
    assert "moved its 1 premises to WIS" in capsys.readouterr().out
    listed = _stations(db, capsys)
    assert "retired" in listed["MAR"] and listed["WIS"].split()[-4:-2] == ["1", "0"]
    assert cli.main(["user", "add", "x", "--name", "X", "--role", "crew", "--station", "MAR",
                     "--password", "p", "--db", db]) == 1  # a retired station takes nobody


def test_station_commands_name_the_bad_value(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    assert cli.main(["station", "add", "WIS", "--name", "Wisbech", "--lat", "52", "--db",
                     db]) == 1
    assert "lon: give both latitude and longitude" in capsys.readouterr().err
    assert cli.main(["station", "add", "WIS", "--name", "Wisbech", "--grounds", "ZZZ",
                     "--db", db]) == 1
    assert "grounds: no station in service with code ZZZ" in capsys.readouterr().err
    assert cli.main(["station", "edit", "NOPE", "--name", "x", "--db", db]) == 1
    assert "no station NOPE" in capsys.readouterr().err
    assert cli.main(["station", "edit", "WIS", "--db", db]) == 2


def test_a_users_role_and_grounds_change_and_they_are_disabled_and_enabled(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    cli.main(["demo-data", "--premises", "5", "--stations", "3", "--db", db])
    codes = list(_stations(db, capsys))
    assert cli.main(["user", "edit", "crew", "--role", "supervisor", "--grounds",
                     ",".join(codes), "--db", db]) == 0
    out = capsys.readouterr().out  # the home station is not an extra ground of its own
    home = out.split(" at ", 1)[1].split(",", 1)[0]
    assert out.startswith("crew: supervisor at ") and home in codes
    assert f"also covering {', '.join(c for c in codes if c != home)};" in out
    assert cli.main(["user", "edit", "crew", "--station", "", "--db", db]) == 1
    assert "station: a supervisor needs a home station" in capsys.readouterr().err
    assert cli.main(["user", "edit", "nobody", "--role", "crew", "--db", db]) == 1
    assert cli.main(["user", "disable", "crew", "--db", db]) == 0
    assert "they have no live devices" in capsys.readouterr().out
    assert cli.main(["user", "enable", "crew", "--db", db]) == 0
    capsys.readouterr()
    assert cli.main(["user", "list", "--db", db]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("crew "))
    assert " supervisor " in line and line.endswith("active")
    assert line.split()[-2] == ",".join(c for c in codes if c != home)  # ALSO COVERS


def test_migrate_brings_a_postgresql_schema_up_to_date(
        postgres: Cluster, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WATCHBOOK_DATABASE_URL", postgres.fresh_url())
    assert cli.main(["migrate"]) == 0
    assert f"PostgreSQL schema version 0 -> {LATEST}" in capsys.readouterr().out
    assert cli.main(["migrate"]) == 0
    assert f"PostgreSQL schema version {LATEST} (up to date)" in capsys.readouterr().out


def test_the_commands_run_on_postgresql_when_the_url_is_set(
        postgres: Cluster, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WATCHBOOK_DATABASE_URL", postgres.fresh_url())
    monkeypatch.setenv("WATCHBOOK_ARGON2_MEMORY_COST", "8")
    monkeypatch.setenv("WATCHBOOK_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("WATCHBOOK_ARGON2_PARALLELISM", "1")
    assert cli.main(["demo-data", "--premises", "40", "--stations", "3"]) == 0
    assert "Created 40 premises over 3 stations in the PostgreSQL database" in \
        capsys.readouterr().out
    assert cli.main(["station", "add", "Z09", "--name", "Zeal"]) == 0
    assert cli.main(["user", "add", "zed", "--name", "Zed Crew", "--role", "crew",
                     "--station", "Z09", "--password", "zeal-lane-9"]) == 0
    capsys.readouterr()
    assert cli.main(["user", "list"]) == 0
    assert "zed" in capsys.readouterr().out
    assert cli.main(["demo-data", "--premises", "5"]) == 1  # never on top of a filled one
    assert "the PostgreSQL database already holds 40 premises" in capsys.readouterr().err


def test_backup_and_restore_on_postgresql_refuse_naming_pg_dump(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WATCHBOOK_DATABASE_URL", "postgresql://nobody@/nowhere")
    assert cli.main(["backup", "x.db"]) == 2
    assert "pg_dump" in capsys.readouterr().err


def test_serve_with_workers_on_sqlite_is_refused_saying_it_needs_postgresql(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.delenv("WATCHBOOK_DATABASE_URL", raising=False)
    assert cli.main(["serve", "--workers", "2", "--db", str(tmp_path / "w.db")]) == 2
    err = capsys.readouterr().err
    assert "--workers above 1 needs PostgreSQL" in err and "WATCHBOOK_DATABASE_URL" in err
    assert not (tmp_path / "w.db").exists()


def test_a_database_url_that_is_not_postgresql_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="WATCHBOOK_DATABASE_URL must be a postgresql://"):
        Settings.from_env({"WATCHBOOK_DATABASE_URL": "mysql://x"})
