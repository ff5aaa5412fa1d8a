"""Regenerate the committed JSON schema of the scan contract from its pydantic model.

python scripts/gen_schema.py          # rewrite src/provscan/report/schema/scan-v1.schema.json
python scripts/gen_schema.py --check  # exit 1 if the committed file is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Runs from a plain checkout too, without the package installed.
sys.path.insert(0, str(ROOT / "src"))

from provscan.report.contract import SCHEMA_FILENAME, generate_schema_text  # noqa: E402

SCHEMA_PATH = ROOT / "src" / "provscan" / "report" / "schema" / SCHEMA_FILENAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check, do not write")
    args = parser.parse_args(argv)
    generated = generate_schema_text()
    current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else None
    if args.check:
        if current != generated:
            print(f"{SCHEMA_PATH} is out of date; run: python scripts/gen_schema.py")
            return 1
        return 0
    if current != generated:
        SCHEMA_PATH.write_text(generated, encoding="utf-8", newline="\n")
        print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
