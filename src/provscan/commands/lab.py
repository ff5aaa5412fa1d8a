"""``provscan lab list``: the lab's emulated devices as a table that fits the terminal.

The table is fitted like the scan table (:func:`provscan.report.formats.fit_columns`):
addresses, makers, brands and models are never broken across lines; when the terminal is
narrow the ports and then the device ids are left out (``--verbose`` shows every field and
the description of each device, wrapped to the terminal with a hanging indent).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from provscan.lab.spec import DeviceSpec
from provscan.model import address_sort_key
from provscan.report.formats import fit_columns, print_columns

_COLUMNS = ("Address", "Device", "Maker", "Brand", "Model", "Restr.", "Ports")
#: Narrowed first to last when the table is too wide: ports wrap between numbers; the two
#: longest ids and models are cut with "…" (``--verbose`` shows them whole).
_SHRINK = (("Ports", 10), ("Device", 22), ("Model", 21))
#: Left out first to last when narrowing is not enough (``--verbose`` shows them).
_DROP = ("Ports", "Device")
_WRAPPING = frozenset({"Ports"})
_LEFT_OUT = {"Ports": "ports", "Device": "device ids"}
#: Indent of the lines under a device in ``--verbose``.
_HANGING = 4


def _restricted(device: DeviceSpec) -> Text:
    if device.expect.hostile:
        return Text("hostile", style="magenta")
    if device.expect.restricted is None:
        return Text("-", style="dim")
    return Text("yes", style="bold red") if device.expect.restricted else Text("no")


def _ports(device: DeviceSpec) -> str:
    ports = sorted(service.port for service in device.services)
    return " ".join(str(port) for port in ports) or "udp only"


def _row(device: DeviceSpec) -> dict[str, Text]:
    maker = device.expect.manufacturer
    brand = device.expect.brand
    return {
        "Address": Text(device.address),
        "Device": Text(device.id),
        "Maker": Text(maker or "-"),
        # A relabel's brand is the point of the lab; the maker's own brand is not repeated.
        "Brand": Text(brand if brand and brand != maker else "-"),
        "Model": Text(device.identity.model or "-"),
        "Restr.": _restricted(device),
        "Ports": Text(_ports(device)),
    }


def lab_table(devices: Sequence[DeviceSpec], console: Console, *, verbose: bool = False) -> None:
    """The devices by address: a table fitted to ``console.width``, or with ``verbose`` one
    block per device (every field, and the description wrapped under it)."""
    ordered = sorted(devices, key=lambda device: address_sort_key(device.address))
    restricted = sum(bool(device.expect.restricted) for device in ordered)
    hostile = sum(device.expect.hostile for device in ordered)
    console.print(
        f"Device lab: {len(ordered)} emulated devices on loopback, {restricted} restricted, "
        f"{hostile} hostile",
        highlight=False,
    )
    if verbose:
        for device in ordered:
            _device_block(device, console)
        return
    rows = [_row(device) for device in ordered]
    widths = fit_columns(_COLUMNS, rows, console.width, shrink=_SHRINK, drop=_DROP, indent=0)
    print_columns(rows, widths, console, header=True, wrapping=_WRAPPING, indent=0)
    left_out = [_LEFT_OUT[name] for name in _COLUMNS if name not in widths]
    if left_out:
        console.print(
            f"({' and '.join(left_out)} left out at this width: `provscan lab list -v` shows all)",
            style="dim",
            highlight=False,
        )


def _device_block(device: DeviceSpec, console: Console) -> None:
    row = _row(device)
    head = Text.assemble((device.address, "bold"), "  ", device.id, "  ", row["Maker"])
    if row["Brand"].plain != "-":
        head.append(f" (sold as {row['Brand'].plain})")
    head.append("  ")
    head.append_text(row["Model"])
    head.append("  restricted: ")
    head.append_text(row["Restr."])
    # Wrapped between words only; the lines under it hang below the address.
    console.print(head)
    for line in (f"ports: {_ports(device)}", device.description):
        console.print(Padding(Text(line), (0, 0, 0, _HANGING), expand=False))
