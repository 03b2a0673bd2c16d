"""tests/pg.py, the PostgreSQL the tests start: missing, it skips them with the way to get it,
except in CI, where the PostgreSQL tests must run and its absence fails them."""

from __future__ import annotations

import pg
import pytest


def test_without_postgresql_its_tests_skip_saying_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg, "binaries", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        next(pg.cluster_or_skip())


def test_in_ci_a_missing_postgresql_fails_its_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg, "binaries", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run"):
        next(pg.cluster_or_skip())


def test_the_cluster_runs_on_debians_binaries_as_an_unprivileged_user(
        postgres: pg.Cluster) -> None:
    assert str(postgres.bindir).startswith("/usr/lib/postgresql/")
    with pg.psycopg.connect(postgres.admin_url) as conn:
        row = conn.execute("SELECT current_setting('listen_addresses'), "
                           "current_setting('data_directory')").fetchone()
    assert row == ("", str(postgres.data))
    assert postgres.data.stat().st_uid != 0
