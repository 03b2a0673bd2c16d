"""The `engine` fixture over both databases: a test module that imports it
(`from engines import engine  # noqa: F401`) runs each of its World tests on SQLite and on
PostgreSQL (the session's throwaway cluster, tests/pg.py), as uvicorn runs one suite over
every implementation. `@on_both` does the same for one test of a module that otherwise runs
on SQLite only: the representative tests of a family, so `make test` does not run it twice."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


on_both = pytest.mark.parametrize("engine", ["sqlite", "postgres"])
