"""Regenerate the bundled knowledge manifest (file hashes, entry counts, oldest source check).

python scripts/gen_manifest.py                      # rewrite src/provscan/knowledge/data/manifest.yaml
python scripts/gen_manifest.py --check              # exit 1 if it is out of date
python scripts/gen_manifest.py --version 2027.1.0 --as-of 2027-01-15   # a new release of the data
python scripts/gen_manifest.py --data-dir mydata    # the manifest of another knowledge directory

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
from provscan.knowledge.packs import (  # noqa: E402
    build_manifest,
    check_as_of,
    read_manifest,
    render_manifest,
)
from provscan.knowledge.verify import verify_knowledge  # noqa: E402

MANIFEST_PATH = BUNDLED_DATA_DIR / MANIFEST_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check, do not write")
    parser.add_argument("--version", help="a new pack version (PEP 440, e.g. 2027.1.0)")
    parser.add_argument("--as-of", dest="as_of", help="the date the data was reviewed (YYYY-MM-DD)")
    parser.add_argument(
        "--data-dir",
        dest="data_dir",
        type=Path,
        help="a knowledge directory other than the bundled data (a maintainer's copy)",
    )
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir if args.data_dir is not None else BUNDLED_DATA_DIR
    manifest_path = data_dir / MANIFEST_FILE
    if not data_dir.is_dir():
        print(f"gen_manifest: knowledge data directory not found: {data_dir}")
        return 2
    regenerate = "scripts/gen_manifest.py" + (
        f" --data-dir {data_dir}" if args.data_dir is not None else ""
    )
    try:
        current = read_manifest(data_dir) if manifest_path.exists() else None
        version = args.version or (current.version if current else None)
        as_of = args.as_of or (current.as_of if current else None)
        if version is None or as_of is None:
            print(f"{manifest_path} does not exist yet: give --version and --as-of")
            return 2
        if args.as_of:
            check_as_of(args.as_of)
        report = verify_knowledge(data_dir)
        if not report.ok:
            for problem in report.problems:
                print(problem.located(data_dir))
            print(
                f"gen_manifest: {report.summary()}; fix them first, the manifest was not "
                "written (`provscan knowledge verify` lists them too)"
            )
            return 2
        manifest = build_manifest(
            data_dir,
            version=version,
            as_of=as_of,
            description=current.description if current else "The knowledge bundled with provscan.",
            derived_from=current.derived_from if current else None,
            kev_catalog=current.kev_catalog if current else None,
            kev_feeds=current.kev_feeds if current else None,
            base=current.base if current else None,
        )
    except ProvscanError as exc:
        print(f"gen_manifest: {exc}")
        return 2
    generated = render_manifest(manifest)
    existing = manifest_path.read_text(encoding="utf-8") if manifest_path.exists() else None
    if args.check:
        if existing != generated:
            print(f"{manifest_path} is out of date; run: .venv/bin/python {regenerate}")
            return 1
        return 0
    if existing != generated:
        manifest_path.write_text(generated, encoding="utf-8", newline="\n")
        print(f"wrote {manifest_path} ({len(manifest.files)} files, version {manifest.version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
