"""Benchmark: `provscan screen` on a 100,000-row procurement list (not a test).

Generates a list from the rows of tests/screen/fixtures/procurement_list.csv the way real
lists look: most rows repeat a product already listed (other item number and quantity), some
give it another description (lens, site, colour), and a share are products seen once (a model
number with one digit changed). Screens it with `provscan screen FILE -o OUT.csv -q` in a
subprocess and prints wall time, rows/s and peak RSS (psutil, the process and its children).

    python bench/bench_screen.py [--rows 100000] [--unique 0.1] [--seed 14] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
from pathlib import Path

from measure import compile_provscan, run_measured

FIXTURE = Path(__file__).resolve().parent.parent / "tests/screen/fixtures/procurement_list.csv"
#: Words a buyer adds to a description of a product already on the list.
EXTRA_WORDS = ("2.8mm", "4mm", "6mm", "white", "black", "site B", "spare", "lobby", "car park")


def fixture_products() -> list[tuple[str, str, str]]:
    with FIXTURE.open(newline="", encoding="utf-8") as handle:
        return [(row["Brand"], row["Model"], row["Description"]) for row in csv.DictReader(handle)]


def _mutated(model: str, rng: random.Random) -> str:
    digits = [index for index, character in enumerate(model) if character.isdigit()]
    if not digits:
        return model + str(rng.randrange(10))
    index = rng.choice(digits)
    return model[:index] + str(rng.randrange(10)) + model[index + 1 :]


def generate(rows: int, unique: float, seed: int) -> bytes:
    """A procurement list CSV of ``rows`` data rows; ``unique``: share of products seen once."""
    rng = random.Random(seed)
    products = fixture_products()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Item", "Brand", "Model", "Description", "Qty"])
    for item in range(1, rows + 1):
        brand, model, description = rng.choice(products)
        draw = rng.random()
        if draw < unique:
            model = _mutated(model, rng) if model else model
            description = f"{description} {rng.randrange(100_000)}".strip()
        elif draw < unique + 0.25:
            description = f"{description} {rng.choice(EXTRA_WORDS)}".strip()
        writer.writerow([item, brand, model, description, rng.randrange(1, 50)])
    return buffer.getvalue().encode("utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--unique", type=float, default=0.1, help="share of products seen once")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--keep", type=Path, help="write the list and the output here")
    args = parser.parse_args()
    print(compile_provscan())

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        source, target = folder / "screen_bench.csv", folder / "screen_bench_out.csv"
        source.write_bytes(generate(args.rows, args.unique, args.seed))
        command = [
            sys.executable,
            "-m",
            "provscan",
            "screen",
            str(source),
            "-o",
            str(target),
            "-q",
            "--max-rows",
            str(max(args.rows, 1)),
        ]
        print(
            f"list: {args.rows} rows ({source.stat().st_size / 1_048_576:.1f} MB), "
            f"{args.unique:.0%} products seen once, seed {args.seed}"
        )
        print("command:", " ".join(command))
        run = run_measured(command, args.timeout)
        elapsed, peak = run.seconds, run.peak_rss
        if run.returncode != 0:
            print(f"provscan screen exited {run.returncode}: {run.stderr.strip()}")
            return 1
        print(
            f"provscan screen: {elapsed:.2f} s, {args.rows / elapsed:,.0f} rows/s, "
            f"peak RSS {peak / 1_048_576:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
