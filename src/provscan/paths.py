"""Where provscan keeps its own files by default (nothing here creates anything).

A light module (platformdirs only), so that a command can protect the default database
from ``--output`` without importing the store and SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "provscan"
DEFAULT_DB_FILENAME = "provscan.db"


def data_dir() -> Path:
    """The user data directory (``$XDG_DATA_HOME/provscan`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    """Where the default database lives."""
    return data_dir() / DEFAULT_DB_FILENAME
