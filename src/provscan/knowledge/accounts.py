"""``default_accounts.yaml``: documented factory accounts (``--check-default-credentials`` only)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from provscan.knowledge.base import Problems, StrictModel, check_sources, read_file
from provscan.knowledge.device_api import DEVICE_API_FILE, DeviceApi
from provscan.knowledge.versions import parse_firmware
from provscan.knowledge.vocabulary import Vendor, check_vendor_name

DEFAULT_ACCOUNTS_FILE = "default_accounts.yaml"


class DefaultAccount(StrictModel):
    """A documented factory account, tried once with ``--check-default-credentials`` only."""

    id: str
    vendors: list[str] = Field(min_length=1)
    username: str
    password: str
    #: Which read-only request checks it: a ``default_account_check`` id of device_api.yaml.
    check: str
    #: The account only exists on firmware older than this (e.g. before activation was
    #: introduced); skipped when the firmware is known to be newer.
    firmware_before: str | None = None
    #: False for accounts the documentation says cannot log in over the network.
    network_login: bool = True
    scope: str
    sources: list[str] = Field(min_length=1)


class DefaultAccountFile(StrictModel):
    accounts: list[DefaultAccount]


def read_default_accounts(
    data_dir: Path,
    problems: Problems,
    vendors: dict[str, Vendor] | None,
    api: DeviceApi | None,
) -> tuple[DefaultAccount, ...]:
    """Load the optional ``default_accounts.yaml``; each ``check`` must be a known request."""
    if not (data_dir / DEFAULT_ACCOUNTS_FILE).exists():
        return ()
    parsed = read_file(data_dir, DEFAULT_ACCOUNTS_FILE, DefaultAccountFile, problems, "accounts")
    if parsed is None:
        return ()
    document = parsed.document
    checks = api.paths_for("default_account_check") if api is not None else None
    seen_ids: set[str] = set()
    for index, account in parsed.indexed(parsed.model.accounts):
        at = ("accounts", index)
        if account.id in seen_ids:
            problems.add(document, "duplicate id", at)
        seen_ids.add(account.id)
        for name in account.vendors:
            check_vendor_name(problems, document, at, name, vendors, "vendor")
        check_sources(problems, document, at, account.sources)
        if account.firmware_before is not None and parse_firmware(account.firmware_before) is None:
            problems.add(document, "firmware_before does not parse", (*at, "firmware_before"))
        if checks is not None and account.check not in checks:
            problems.add(
                document,
                f"check {account.check!r} is not a default_account_check request in "
                f"{DEVICE_API_FILE} (known: {', '.join(checks) or 'none'})",
                (*at, "check"),
            )
    return tuple(parsed.model.accounts)
