from __future__ import annotations

from provscan.cli import main

main()
