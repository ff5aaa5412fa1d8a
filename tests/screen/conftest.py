"""Shared helpers for the screening tests: an in-process CLI runner."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from provscan.cli import app


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str):  # type: ignore[no-untyped-def]
        return self.runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli()
