"""Benchmark: identification accuracy on the external real-world corpus (not a test).

Reads the third-party corpus at run time from ``<repo>/../shared/corpus`` (or ``--corpus``)
and never copies it. Three parts, each scored per family (hikvision, dahua, huawei, zte,
hytera, other) for restricted recall, restricted precision and maker accuracy, with every
miss and false flag listed with the evidence behind it:

- devices: every personality of ``real-banners-recog.json`` is served by the lab on a
  loopback address of ``--base`` and scanned by ``provscan scan`` in a subprocess; where
  nmap is installed, ``nmap -sV`` scans the same addresses and ports for comparison;
- pcaps: ``provscan pcap FILE --no-db -f json`` on every capture of ``pcaps/expected.json``;
- lists: ``provscan screen FILE -f json`` on every ``lists/*.csv``, as published and with
  its manufacturer column removed, scored by the ``basis`` of each expected row.

All traffic stays on loopback (PROVSCAN_ALLOWED_TARGETS=127.0.0.0/8 for every provscan run).

    python bench/bench_corpus.py [--only devices|pcaps|lists] [--corpus PATH]
        [--json FILE] [--ports default|corpus|LIST] [--no-nmap]

Exit status 0 always: thresholds live in tests (tests/corpus).
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "corpus"))

from corpus_schema import (  # noqa: E402 - shared with the corpus tests
    BannerService,
    Expect,
    HttpService,
    RtspService,
    to_device_spec,
)
from corpus_score import (  # noqa: E402
    Case,
    Tally,
    errors,
    format_errors,
    format_table,
    normalised,
    summarise_evidence,
    tally,
)
from pydantic import TypeAdapter  # noqa: E402

from provscan.knowledge import load_knowledge  # noqa: E402
from provscan.lab.server import run_lab_in_thread  # noqa: E402
from provscan.transport.limits import DEFAULT_PORTS  # noqa: E402

ServiceList = TypeAdapter(list[HttpService | RtspService | BannerService])
ALLOWED_TARGETS = "127.0.0.0/8"
SCORED_BASES = {"brand_is_maker", "source_states_parent", "source_states_oem"}
RESTRICTED_ONLY_BASES = {"label_ndaa_true"}


def provscan_env() -> dict[str, str]:
    """The environment of every provscan subprocess: the loopback-only interlock set."""
    return {**os.environ, "PROVSCAN_ALLOWED_TARGETS": ALLOWED_TARGETS}


def run_provscan(arguments: Sequence[str], timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Run ``python -m provscan ARGS``; return (parsed JSON of stdout or None, stderr tail)."""
    command = [sys.executable, "-m", "provscan", *arguments]
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=timeout, env=provscan_env(), check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s"
    try:
        return json.loads(done.stdout), done.stderr.decode("utf-8", "replace")[-500:]
    except ValueError:
        tail = done.stderr.decode("utf-8", "replace").strip()[-500:]
        return None, f"exit {done.returncode}: {tail}"


def section(title: str) -> None:
    print()
    print(f"== {title} " + "=" * max(0, 76 - len(title)))


def print_errors(cases: Sequence[Case], limit: int, evidence_lines: int = 6) -> None:
    lines = format_errors(cases, evidence_lines=evidence_lines)
    found = errors(cases)
    if not found:
        print("  no misses, false flags or wrong makers")
        return
    shown = 0
    for line in lines:
        if not line.startswith("    "):
            shown += 1
            if shown > limit:
                print(f"  ... {len(found) - limit} more (all of them in --json)")
                break
        print(line)


def case_record(label: str, case: Case) -> dict[str, Any]:
    return {
        "error": label,
        "key": case.key,
        "expected": case.accepted,
        "restricted": case.restricted,
        "family": case.true_family,
        "reported_maker": case.reported_maker,
        "reported_restricted": case.reported_restricted,
        "reported_family": case.reported_family,
        "evidence": case.evidence,
    }


def section_result(cases: Sequence[Case], tallies: dict[str, Tally]) -> dict[str, Any]:
    return {
        "tallies": {row: t.as_dict() for row, t in tallies.items()},
        "errors": [case_record(label, case) for label, case in errors(cases)],
    }


# --- devices -----------------------------------------------------------------------------


def fallback_flag(args: argparse.Namespace) -> list[str]:
    """The provscan option that turns nmap's fallback off, when the run asked for that."""
    return ["--no-nmap-fallback"] if args.no_nmap_fallback else []


def run_devices(corpus: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Serve every corpus personality on loopback, scan it, score it (and nmap, if present)."""
    section("devices: real-banners-recog.json served by the lab, scanned by provscan")
    data = json.loads((corpus / "real-banners-recog.json").read_text(encoding="utf-8"))
    base = ipaddress.ip_address(args.base)
    devices = []
    expectations: dict[str, tuple[str, Expect]] = {}
    for index, host in enumerate(data["hosts"]):
        name = host["personality"]
        personality = data["personalities"][name]
        address = str(base + index + 1)
        if not ipaddress.ip_address(address).is_loopback:
            raise SystemExit(f"--base {args.base} leaves loopback at device {index}")
        expect = Expect.model_validate(personality["expect"])
        services = ServiceList.validate_python(personality["services"])
        sources = [str(source) for source in personality.get("source", [])]
        devices.append(to_device_spec(f"corpus-{name}", address, expect, services, sources, name))
        expectations[address] = (name, expect)
    corpus_ports = sorted({s.port for d in devices for s in d.services})
    ports = choose_ports(args.ports, corpus_ports)
    outside = [p for p in corpus_ports if p not in ports]
    print(f"  {len(devices)} devices on {devices[0].address}..{devices[-1].address}")
    print(f"  ports scanned: {','.join(map(str, ports))}")
    if outside:
        print(f"  corpus ports not scanned: {','.join(map(str, outside))} (use --ports corpus)")
    addresses = [d.address for d in devices]
    result: dict[str, Any] = {"ports": ports, "corpus_ports": corpus_ports}
    with run_lab_in_thread(devices):
        started = time.monotonic()
        report, stderr = run_provscan(
            [
                "scan",
                *addresses,
                "--ports",
                ",".join(map(str, ports)),
                "-f",
                "json",
                "--no-db",
                "--quiet",
                "--no-discovery",
                *fallback_flag(args),
            ],
            timeout=args.scan_timeout,
        )
        elapsed = time.monotonic() - started
        if report is None:
            print(f"  provscan scan failed: {stderr}")
            return {**result, "error": stderr}
        by_ip = {device["ip"]: device for device in report.get("devices", [])}
        cases = []
        for device in devices:
            name, expect = expectations[device.address]
            found = by_ip.get(device.address)
            evidence = summarise_evidence(found) if found else []
            if not found:
                served = ",".join(str(s.port) for s in device.services)
                evidence = [f"no device record: nothing answered on the scanned ports ({served})"]
            cases.append(
                Case(
                    key=f"{name} @{device.address}",
                    true_family=expect.true_family(),
                    restricted=expect.restricted,
                    accepted=expect.accepted(),
                    reported_maker=(found or {}).get("manufacturer"),
                    reported_restricted=bool((found or {}).get("restricted")),
                    reported_family=(found or {}).get("family"),
                    evidence=evidence,
                )
            )
        tallies = tally(cases)
        print(f"  provscan scan: {elapsed:.1f} s")
        print("\n".join(format_table(tallies)))
        print()
        print_errors(cases, args.max_errors)
        result.update(section_result(cases, tallies))
        result["scan_seconds"] = round(elapsed, 2)
        result["nmap"] = run_nmap(addresses, ports, expectations, cases, args)
    return result


def choose_ports(choice: str, corpus_ports: Sequence[int]) -> list[int]:
    if choice == "default":
        return list(DEFAULT_PORTS)
    if choice == "corpus":
        return sorted(set(DEFAULT_PORTS) | set(corpus_ports))
    return sorted({int(part) for part in choice.split(",") if part.strip()})


def ensure_nmap() -> str | None:
    """nmap's path; installs it with apt-get when running as root and it is missing."""
    found = shutil.which("nmap")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    print("  nmap not installed; trying apt-get install -y nmap (root) ...")
    try:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nmap"],
            capture_output=True,
            timeout=300,
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except subprocess.TimeoutExpired:
        return None
    return shutil.which("nmap")


def maker_spellings(names: Sequence[str | None]) -> set[str]:
    """Normalised spellings of the accepted makers, with their aliases from knowledge."""
    knowledge = load_knowledge()
    spellings: set[str] = set()
    for name in names:
        if not name:
            continue
        spellings.add(normalised(name))
        canonical = knowledge.canonical_vendor(name)
        if canonical is not None:
            vendor = knowledge.vendors[canonical]
            spellings |= {normalised(s) for s in (vendor.name, *vendor.aliases)}
    return {s for s in spellings if len(s) > 1}


def run_nmap(
    addresses: Sequence[str],
    ports: Sequence[int],
    expectations: dict[str, tuple[str, Expect]],
    cases: Sequence[Case],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """``nmap -sV`` on the same loopback addresses and ports; count hosts it names right."""
    identifiable = [
        address for address, (_, expect) in expectations.items() if any(expect.accepted())
    ]
    provscan_right = sum(
        1
        for case in cases
        if case.key.rsplit("@", 1)[-1] in identifiable and case.reported_maker and case.maker_ok
    )
    print()
    nmap = None if args.no_nmap else ensure_nmap()
    if nmap is None:
        note = "skipped (--no-nmap)" if args.no_nmap else "skipped: nmap not installed"
        print(f"  nmap -sV: {note}; provscan named {provscan_right}/{len(identifiable)} makers")
        return {"run": False, "note": note, "provscan_right": provscan_right}
    command = [nmap, "-sV", "-Pn", "-n", "-p", ",".join(map(str, ports)), "--open", "-oX", "-"]
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*command, *addresses], capture_output=True, timeout=args.nmap_timeout, check=False
        )
        xml_text = done.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        xml_text = ""
    elapsed = time.monotonic() - started
    products = nmap_products(xml_text)
    right: list[str] = []
    for address in identifiable:
        _, expect = expectations[address]
        text = normalised(products.get(address, ""))
        names = [*expect.accepted(), expect.brand]
        if text and any(spelling in text for spelling in maker_spellings(names)):
            right.append(address)
    total = len(identifiable)
    ratio = f"{provscan_right / len(right):.2f}" if right else "n/a (nmap named none)"
    print(f"  nmap -sV ({elapsed:.1f} s): named the maker of {len(right)}/{total} devices")
    print(f"  provscan named the maker of {provscan_right}/{total}; ratio provscan/nmap {ratio}")
    for address in identifiable:
        name, _ = expectations[address]
        shown = products.get(address, "")
        if shown:
            print(f"    nmap {name}: {shown}"[:80])
    return {
        "run": True,
        "seconds": round(elapsed, 1),
        "devices": total,
        "nmap_right": len(right),
        "provscan_right": provscan_right,
        "products": products,
    }


def nmap_products(xml_text: str) -> dict[str, str]:
    """address -> every product/version/extrainfo/devicetype string nmap reported."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return {}
    found: dict[str, str] = {}
    for host in root.iter("host"):
        address = host.find("address")
        if address is None:
            continue
        strings = [
            " ".join(
                filter(
                    None,
                    (
                        service.get("product"),
                        service.get("version"),
                        service.get("extrainfo"),
                        service.get("devicetype"),
                        service.get("ostype"),
                    ),
                )
            )
            for service in host.iter("service")
        ]
        found[address.get("addr", "")] = "; ".join(s for s in strings if s)
    return found


# --- captures ----------------------------------------------------------------------------


def run_pcaps(corpus: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``provscan pcap`` on every capture; score each expected host (MAC first, else IP)."""
    section("pcaps: provscan pcap on public captures, scored per host")
    expected = json.loads((corpus / "pcaps" / "expected.json").read_text(encoding="utf-8"))
    cases: list[Case] = []
    problems: list[str] = []
    started = time.monotonic()
    for capture in expected["captures"]:
        path = corpus / "pcaps" / capture["capture"]
        if hashlib.sha256(path.read_bytes()).hexdigest() != capture.get("sha256"):
            problems.append(f"{capture['capture']}: sha256 differs from expected.json")
        report, stderr = run_provscan(
            ["pcap", str(path), "--no-db", "-f", "json", "--quiet", *fallback_flag(args)],
            timeout=args.scan_timeout,
        )
        if report is None:
            problems.append(f"{capture['capture']}: provscan pcap failed: {stderr}")
            continue
        cases += pcap_cases(capture, report.get("devices", []))
    elapsed = time.monotonic() - started
    tallies = tally(cases)
    print(f"  {len(expected['captures'])} captures, {len(cases)} scored records, {elapsed:.1f} s")
    for problem in problems:
        print(textwrap.fill(problem, 78, initial_indent="  ! ", subsequent_indent="    "))
    print("\n".join(format_table(tallies)))
    print()
    print_errors(cases, args.max_errors, evidence_lines=4)
    return {**section_result(cases, tallies), "problems": problems, "seconds": round(elapsed, 1)}


def pcap_cases(capture: dict[str, Any], reported: list[dict[str, Any]]) -> list[Case]:
    """One case per expected host, plus one per unlisted host that was flagged restricted."""
    cases: list[Case] = []
    used: set[int] = set()
    for host in capture["devices"]:
        mac = (host.get("mac") or "").lower()
        matched = [i for i, d in enumerate(reported) if mac and (d.get("mac") or "").lower() == mac]
        if not matched and host.get("ip"):
            matched = [i for i, d in enumerate(reported) if d.get("ip") == host["ip"]]
        used.update(matched)
        records = [reported[i] for i in matched]
        named = next((r for r in records if r.get("manufacturer")), records[0] if records else {})
        flagged = next((r for r in records if r.get("restricted")), None)
        shown = flagged or named
        evidence = summarise_evidence(shown) if shown else ["no record for this MAC or IP"]
        maker_known = host.get("manufacturer") is not None
        cases.append(
            Case(
                key=f"{capture['capture']} {host['name']} ({host.get('mac') or host.get('ip')})",
                true_family=Expect(
                    manufacturer=host.get("manufacturer"), restricted=bool(host["restricted"])
                ).true_family(),
                restricted=bool(host["restricted"]),
                accepted=list(host["manufacturer_any"]) if maker_known else None,
                reported_maker=named.get("manufacturer"),
                reported_restricted=flagged is not None,
                reported_family=(flagged or named).get("family"),
                evidence=evidence,
            )
        )
    for index, record in enumerate(reported):
        if index in used or not record.get("restricted"):
            continue
        cases.append(
            Case(
                key=f"{capture['capture']} unlisted host {record.get('ip')} ({record.get('mac')})",
                true_family="other",
                restricted=False,
                accepted=None,
                reported_maker=record.get("manufacturer"),
                reported_restricted=True,
                reported_family=record.get("family"),
                evidence=summarise_evidence(record),
            )
        )
    return cases


# --- product lists -----------------------------------------------------------------------


def run_lists(corpus: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``provscan screen`` on every list, as published and without its manufacturer column."""
    section("lists: provscan screen on public product lists")
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="provscan-bench-") as scratch:
        for listing in sorted((corpus / "lists").glob("*.csv")):
            if listing.stem.endswith("_expected"):
                continue
            truth_path = listing.with_name(listing.stem + "_expected.csv")
            if not truth_path.exists():
                continue
            with truth_path.open(encoding="utf-8", newline="") as handle:
                truth = list(csv.DictReader(handle))
            stripped = Path(scratch) / f"{listing.stem}_no_manufacturer.csv"
            strip_column(listing, stripped, "Manufacturer")
            for variant, path in (("with maker column", listing), ("no maker column", stripped)):
                key = f"{listing.stem} ({variant})"
                report, stderr = run_provscan(
                    ["screen", str(path), "-f", "json", "--quiet"], timeout=args.scan_timeout
                )
                print()
                print(f"  {key}")
                if report is None:
                    print(f"    provscan screen failed: {stderr}")
                    result[key] = {"error": stderr}
                    continue
                cases, unscored_flagged = list_cases(truth, report.get("rows", []))
                tallies = tally(cases)
                unknown = sum(1 for case in cases if not case.reported_maker)
                print("\n".join(format_table(tallies)))
                print(
                    f"  scored rows {len(cases)}, no maker named {unknown}; "
                    f"flagged among unscored rows: {unscored_flagged}"
                )
                print_confusions(cases)
                print_errors(cases, args.max_errors, evidence_lines=2)
                result[key] = {
                    **section_result(cases, tallies),
                    "unscored_flagged": unscored_flagged,
                    "no_maker_named": unknown,
                }
    return result


def strip_column(source: Path, target: Path, column: str) -> None:
    """Copy a CSV without one column (by header name, case-insensitive)."""
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = [name.strip().lower() for name in rows[0]]
    drop = header.index(column.lower())
    with target.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [value for i, value in enumerate(row) if i != drop] for row in rows
        )


def list_cases(truth: list[dict[str, str]], rows: list[dict[str, Any]]) -> tuple[list[Case], int]:
    """Cases of the scored rows (screen row N = data row N-1) and flags among unscored rows."""
    by_row = {int(row["row"]) - 1: row for row in rows}
    cases: list[Case] = []
    unscored_flagged = 0
    for expected in truth:
        screened = by_row.get(int(expected["row"]), {})
        basis = expected["basis"]
        if basis not in SCORED_BASES | RESTRICTED_ONLY_BASES:
            unscored_flagged += screened.get("restricted") is True
            continue
        restricted = expected["expected_restricted"] == "true"
        accepted: list[str | None] | None = None
        if basis in SCORED_BASES and expected["expected_maker"]:
            accepted = list(expected["expected_maker"].split("|"))
        evidence = [f"reason: {screened.get('reason')}"]
        evidence += [str(item) for item in screened.get("evidence") or []]
        cases.append(
            Case(
                key=f"row {expected['row']} {expected['manufacturer']} {expected['model']}".strip(),
                true_family=Expect(
                    manufacturer=(accepted or [None])[0] or expected["manufacturer"] or None,
                    restricted=restricted,
                    family=expected["family"] or None,
                ).true_family(),
                restricted=restricted,
                accepted=accepted,
                reported_maker=screened.get("maker"),
                reported_restricted=screened.get("restricted") is True,
                reported_family=screened.get("family"),
                evidence=evidence,
            )
        )
    return cases, unscored_flagged


def print_confusions(cases: Sequence[Case], top: int = 8) -> None:
    """The most frequent (expected maker -> reported maker) errors."""
    pairs = collections.Counter(
        (str((case.accepted or ["?"])[0]), case.reported_maker or "none")
        for _, case in errors(cases)
    )
    if pairs:
        shown = ", ".join(f"{a}->{b} x{n}" for (a, b), n in pairs.most_common(top))
        print(
            textwrap.fill(
                f"most frequent errors: {shown}", 78, initial_indent="  ", subsequent_indent="    "
            )
        )


# --- main --------------------------------------------------------------------------------


def check_overlap(corpus: Path) -> list[str]:
    """Values the project's own corpus shares with the held-out one (must be none: the
    held-out set measures generalisation only while it stays unseen). Checked here, not in
    the tests, because the project never reads ../shared at test time."""
    from corpus_schema import load_project_corpus, observed_values
    from pydantic import TypeAdapter

    adapter = TypeAdapter(list[HttpService | RtspService | BannerService])
    held_out = json.loads((corpus / "real-banners-recog.json").read_text(encoding="utf-8"))
    theirs: set[str] = set()
    for personality in held_out["personalities"].values():
        theirs |= observed_values(adapter.validate_python(personality["services"]))
    shared = [
        f"{entry.id}: {value}"
        for entry in load_project_corpus()
        for value in sorted(observed_values(entry.services) & theirs)
    ]
    print(f"project corpus values shared with the held-out corpus: {len(shared)}")
    for line in shared:
        print(f"  {line}")
    return shared


def locate_corpus(option: str | None) -> Path | None:
    candidates = [Path(option)] if option else [REPO.parent / "shared" / "corpus"]
    return next((path for path in candidates if (path / "README.md").exists()), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", choices=("devices", "pcaps", "lists"), action="append")
    parser.add_argument("--corpus", help="corpus folder (default: <repo>/../shared/corpus)")
    parser.add_argument("--json", type=Path, help="write the full result here")
    parser.add_argument(
        "--ports",
        default="default",
        help="devices: 'default' (provscan's default set), 'corpus' (plus every corpus port) "
        "or a comma-separated list",
    )
    parser.add_argument("--base", default="127.203.0.0", help="loopback base address of devices")
    parser.add_argument("--no-nmap", action="store_true")
    parser.add_argument(
        "--no-nmap-fallback",
        action="store_true",
        help="provscan without nmap's match lines as its fallback (decision 0023)",
    )
    parser.add_argument("--nmap-timeout", type=float, default=1800)
    parser.add_argument("--scan-timeout", type=float, default=900)
    parser.add_argument("--max-errors", type=int, default=40, help="errors printed per part")
    args = parser.parse_args()

    if not ipaddress.ip_address(args.base).is_loopback:
        parser.error("--base must be a loopback address: the benchmark stays on loopback")
    os.environ["PROVSCAN_ALLOWED_TARGETS"] = ALLOWED_TARGETS
    corpus = locate_corpus(args.corpus)
    result: dict[str, Any] = {"corpus": str(corpus) if corpus else None}
    if corpus is None:
        print(
            "bench_corpus: no corpus found (expected <repo>/../shared/corpus or --corpus); skipped"
        )
        result["skipped"] = "corpus not found"
    else:
        print(f"bench_corpus: corpus {corpus}")
        result["overlap"] = check_overlap(corpus)
        parts = args.only or ["devices", "pcaps", "lists"]
        runners = {"devices": run_devices, "pcaps": run_pcaps, "lists": run_lists}
        for part in parts:
            result[part] = runners[part](corpus, args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
        print(f"\nresult written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
