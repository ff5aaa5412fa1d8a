"""An asset register's "Vendor" column names the device's maker: `provscan import` reads it
as the brand, though `provscan screen` reads a Vendor column of distributors as the seller
(screening.columns.SELLER_ALIASES). Data only: an import sends nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_provscan


@pytest.mark.parametrize("header", ["Vendor", "Vendor Name"])
def test_an_asset_registers_vendor_is_the_maker(tmp_path: Path, header: str) -> None:
    register = tmp_path / "assets.csv"
    register.write_text(
        f"IP,{header},Model\n127.0.9.10,Hikvision,DS-2CD2143G2-I\n127.0.9.11,Lorex,bullet camera\n",
        encoding="utf-8",
    )
    done = run_provscan("import", str(register), "--no-db", "-f", "json")
    assert done.returncode == 0, done.stderr
    devices = {d["ip"]: d for d in json.loads(done.stdout)["devices"]}
    assert devices["127.0.9.10"]["manufacturer"] == "Hikvision"
    assert devices["127.0.9.10"]["restricted"] is True
    # only the Vendor column names Lorex: without it the device would be unknown
    assert devices["127.0.9.11"]["brand"] == "Lorex"
