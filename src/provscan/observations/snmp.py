"""SNMP (UDP 161): a GetResponse of the system group -> observations."""

from __future__ import annotations

from provscan.model import Observation
from provscan.wire import snmp

PROTOCOL = "snmp"
PORT = snmp.SNMP_PORT
#: System-group OID -> observation field (docs/observation-fields.md).
FIELDS = {
    snmp.SYS_DESCR: "snmp.sys_descr",
    snmp.SYS_OBJECT_ID: "snmp.sys_object_id",
    snmp.SYS_NAME: "snmp.sys_name",
}
#: Longest value kept (a sysDescr is one or a few lines).
MAX_VALUE_CHARS = 400
#: Binding kinds that carry a value (the exceptions noSuchObject… carry none).
_VALUED = frozenset({"string", "oid", "integer", "unsigned", "timeticks", "ipaddress"})


def response_observations(message: snmp.SnmpMessage, detail: str = "") -> list[Observation]:
    """One observation per answered system-group object; ``[]`` for an error response."""
    if message.error_status != 0:
        return []
    found = []
    for binding in message.varbinds:
        field = FIELDS.get(binding.oid)
        if field is None or binding.kind not in _VALUED:
            continue
        value = " ".join(binding.value.split())[:MAX_VALUE_CHARS]
        if value:
            found.append(Observation(PROTOCOL, PORT, field, value, detail))
    return found
