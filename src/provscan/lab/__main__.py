"""``python -m provscan.lab``: run the device lab in the foreground until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from provscan.errors import LabError
from provscan.lab.server import (
    Lab,
    PersonalitySource,
    bundled_personality_paths,
    generate_bench_lab,
    load_devices,
    relocate_devices,
    write_state,
)


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m provscan.lab", description=__doc__)
    parser.add_argument(
        "--personality",
        action="append",
        default=None,
        help="personality YAML file or bundled family name (repeatable; default: all bundled)",
    )
    parser.add_argument(
        "--bench-devices",
        type=int,
        default=0,
        help="also serve N cloned devices on 127.88.0.1 onwards (benchmark lab)",
    )
    parser.add_argument("--state-dir", type=Path, help="write lab.pid and lab.json here")
    parser.add_argument(
        "--place",
        action="append",
        default=None,
        metavar="DEVICE_ID=ADDRESS",
        help="serve only these devices, at these addresses (repeatable); a non-loopback "
        "address is accepted only inside a test network namespace",
    )
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


async def _serve(arguments: argparse.Namespace) -> None:
    sources: list[PersonalitySource] = list(arguments.personality or [])
    personalities: list[PersonalitySource] | None = sources or None
    if arguments.bench_devices:
        bench: list[PersonalitySource] = list(generate_bench_lab(arguments.bench_devices))
        personalities = [*(sources or _all_bundled()), *bench]
    if arguments.place:
        placements = dict(item.split("=", 1) for item in arguments.place)
        personalities = list(relocate_devices(load_devices(personalities), placements))
    lab = Lab(personalities)
    await lab.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        if arguments.state_dir is not None:
            write_state(arguments.state_dir, lab)
        endpoints = lab.endpoints()
        print(
            f"provscan lab: {len(lab.devices)} devices on {len(endpoints)} endpoints; "
            "stop with SIGTERM or Ctrl-C",
            flush=True,
        )
        await stop.wait()
    finally:
        await lab.stop()


def _all_bundled() -> list[PersonalitySource]:
    return list(bundled_personality_paths())


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    logging.basicConfig(
        level=logging.INFO if arguments.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        asyncio.run(_serve(arguments))
    except LabError as exc:
        print(f"provscan lab: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(Exception):
        if arguments.state_dir is not None:
            for name in ("lab.pid", "lab.json"):
                (arguments.state_dir / name).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
