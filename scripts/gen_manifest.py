"""Regenerate the bundled knowledge manifest (file hashes, entry counts, oldest source check).

python scripts/gen_manifest.py                      # rewrite src/provscan/knowledge/data/manifest.yaml
python scripts/gen_manifest.py --check              # exit 1 if it is out of date
python scripts/gen_manifest.py --version 2027.1.0 --as-of 2027-01-15   # a new release of the data

Without --version/--as-of the manifest keeps its version and as-of date: after a data edit,
run it as is; when the data is reviewed for a release, give both.

The data must load and pass `provscan knowledge verify` first: a manifest is never written
for data that does not (its problems are listed, exit 2), so the hashes always describe
knowledge that works.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Runs from a plain checkout too, without the package installed.
sys.path.insert(0, str(ROOT / "src"))

from provscan.errors import ProvscanError  # noqa: E402
from provscan.knowledge.base import BUNDLED_DATA_DIR, MANIFEST_FILE  # noqa: E402
from provscan.knowledge.packs import build_manifest, read_manifest, render_manifest  # noqa: E402
from provscan.knowledge.verify import verify_knowledge  # noqa: E402

MANIFEST_PATH = BUNDLED_DATA_DIR / MANIFEST_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check, do not write")
    parser.add_argument("--version", help="a new pack version (PEP 440, e.g. 2027.1.0)")
    parser.add_argument("--as-of", dest="as_of", help="the date the data was reviewed (YYYY-MM-DD)")
    args = parser.parse_args(argv)
    try:
        current = read_manifest(BUNDLED_DATA_DIR) if MANIFEST_PATH.exists() else None
        version = args.version or (current.version if current else None)
        as_of = args.as_of or (current.as_of if current else None)
        if version is None or as_of is None:
            print(f"{MANIFEST_PATH} does not exist yet: give --version and --as-of")
            return 2
        report = verify_knowledge(BUNDLED_DATA_DIR)
        if not report.ok:
            for problem in report.problems:
                print(problem.located(BUNDLED_DATA_DIR))
            print(
                f"gen_manifest: {report.summary()}; fix them first, the manifest was not "
                "written (`provscan knowledge verify` lists them too)"
            )
            return 2
        manifest = build_manifest(
            BUNDLED_DATA_DIR,
            version=version,
            as_of=as_of,
            description=current.description if current else "The knowledge bundled with provscan.",
        )
    except ProvscanError as exc:
        print(f"gen_manifest: {exc}")
        return 2
    generated = render_manifest(manifest)
    existing = MANIFEST_PATH.read_text(encoding="utf-8") if MANIFEST_PATH.exists() else None
    if args.check:
        if existing != generated:
            print(f"{MANIFEST_PATH} is out of date; run: .venv/bin/python scripts/gen_manifest.py")
            return 1
        return 0
    if existing != generated:
        MANIFEST_PATH.write_text(generated, encoding="utf-8", newline="\n")
        print(f"wrote {MANIFEST_PATH} ({len(manifest.files)} files, version {manifest.version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
