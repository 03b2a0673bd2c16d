"""The docs stay true: every setting is documented and the layering holds."""

from __future__ import annotations

from pathlib import Path

from server.settings import INT_SETTINGS, OTHER_VARIABLES

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_variable_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    variables = ["WATCHBOOK_" + n.upper() for n in INT_SETTINGS] + list(OTHER_VARIABLES)
    missing = [v for v in variables if f"`{v}`" not in readme]
    assert not missing, f"undocumented settings: {missing}"


def test_readme_gives_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
