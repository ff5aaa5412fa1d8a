"""The screening report's measures say "restricts N of the M rows it names" once (a
newcomer read "restricts" / "restricts 12 of the 15 rows it names" for each measure)."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import run_provscan


def test_a_measure_that_restricts_says_it_once(tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text(
        "Brand,Model\nHikvision,DS-2CD2143G0-I\nDahua,IPC-HFW2431S-S-S2\nAxis,P3245-LVE\n",
        encoding="utf-8",
    )
    out = tmp_path / "screened.html"
    done = run_provscan("screen", str(listing), "-q", "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = " ".join(re.sub(r"<[^>]+>", " ", out.read_text(encoding="utf-8")).split())
    assert "of the 2 rows it names" in text or "of the 1 row it names" in text, text[:500]
    assert not re.search(r"\brestricts restricts\b", text)
    assert re.search(r"in force since \S+ restricts \d+ of the \d+ rows? it names", text)
