"""The probe registry: every probe class, imported lazily by module name.

Only the CLI/scheduler asks for concrete probes. A module that does not exist yet (another
engineer's probe still being written) is skipped; any other import error is a bug and
raises.
"""

from __future__ import annotations

import importlib

from provscan.probes.interface import Probe

#: "module:Class" of every probe, in no particular order (``Probe.order`` sorts them).
PROBE_PATHS: tuple[str, ...] = (
    "provscan.probes.http:HttpProbe",
    "provscan.probes.tls:TlsProbe",
    "provscan.probes.rtsp:RtspProbe",
    "provscan.probes.onvif:OnvifProbe",
    "provscan.probes.hik_sdk:HikSdkProbe",
    "provscan.probes.dahua:DahuaDvripProbe",
    "provscan.probes.xiongmai:XiongmaiProbe",
    "provscan.probes.banner:BannerProbe",
)


def _load(path: str) -> Probe | None:
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None  # not written yet
        raise
    probe_class = getattr(module, class_name)
    if not (isinstance(probe_class, type) and issubclass(probe_class, Probe)):
        raise TypeError(f"{path} is not a Probe subclass")
    return probe_class()


def all_probes() -> list[Probe]:
    """One instance of every available probe, sorted by ``order`` then name."""
    probes = [probe for path in PROBE_PATHS if (probe := _load(path)) is not None]
    return sorted(probes, key=lambda probe: (probe.order, probe.name))
