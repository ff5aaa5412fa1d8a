"""Dahua private protocols on TCP 37777 (DVRIP) and 5000 (DHIP), pure.

**DHIP** (``rroller/dahua`` ``vto.py``/``dhip.py``; ``mcw0/DahuaConsole``): a 32-byte header
then JSON. Header bytes: ``20 00 00 00`` (the header size, 32, little-endian), ``"DHIP"``,
session id (u32 LE), request id (u32 LE), payload length (u32 LE), 4 zero bytes, payload
length again (u32 LE), 4 zero bytes.

The only request provscan builds is the **first step** of ``global.login``: the
challenge request with an **empty password**, as Greenbone's Dahua/Amcrest detection does
over ``/RPC2_Login`` (``userName`` ``admin``, ``password`` ``""``, ``clientType``
``Web3.0``, ``loginType`` ``Direct``). It carries no credential: the device answers with
error 268632079 "Component error: login challenge!" and its realm (``Login to <serial>``),
MAC and nonce. provscan never sends the second step (the hashed password), so no login is
ever attempted and no lockout counter is touched.

**DVRIP** (binary, DahuaConsole ``net.py``): 32-byte header whose first byte is the
command (``a0`` login/realm request, ``b0`` reply, ``a3``/``b3`` discovery, ``f6`` JSON).
Only byte 0 (command), byte 1 (sub-code) and bytes 4..7 (payload length, u32 LE) are
interpreted; the rest is kept raw because its layout varies by command.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from provscan.errors import ProtocolError

HEADER_BYTES = 32
DHIP_MAGIC = b"DHIP"
DHIP_PREFIX = b"\x20\x00\x00\x00" + DHIP_MAGIC
#: Largest payload we accept to read or parse (a login challenge is ~300 bytes).
MAX_PAYLOAD_BYTES = 64 * 1024
LOGIN_CHALLENGE_CODE = 268632079
LOGIN_CHALLENGE_MESSAGE = "Component error: login challenge!"
#: DVRIP first bytes listed in DahuaConsole ``dahua_proto``.
DVRIP_COMMANDS = {
    0xA0: "login request",
    0xA3: "discovery request",
    0xB0: "reply",
    0xB3: "discovery reply",
    0xF6: "json",
}
_MAX_TEXT = 256


@dataclass(frozen=True)
class DhipHeader:
    session_id: int
    request_id: int
    payload_length: int
    #: The second copy of the length (bytes 24..27); equal to payload_length when well-formed.
    total_length: int


@dataclass(frozen=True)
class DhipLoginReply:
    """The device's answer to a global.login challenge request."""

    error_code: int | None
    error_message: str | None
    realm: str | None
    mac: str | None
    encryption: str | None
    random: str | None
    session: str | None
    result: bool | None

    @property
    def is_challenge(self) -> bool:
        return (
            self.error_code == LOGIN_CHALLENGE_CODE or self.error_message == LOGIN_CHALLENGE_MESSAGE
        )


@dataclass(frozen=True)
class DvripHeader:
    command: int
    subcode: int
    payload_length: int
    raw: bytes

    @property
    def command_name(self) -> str:
        return DVRIP_COMMANDS.get(self.command, "unknown")


def build_dhip(payload: bytes, session_id: int = 0, request_id: int = 0) -> bytes:
    """A DHIP message: header + payload."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError("DHIP payload too large")
    length = len(payload)
    return (
        DHIP_PREFIX + struct.pack("<IIIIII", session_id, request_id, length, 0, length, 0) + payload
    )


def parse_dhip_header(data: bytes) -> DhipHeader:
    """Parse the 32-byte DHIP header. Raises ProtocolError."""
    if not isinstance(data, bytes | bytearray):
        raise ProtocolError("header must be bytes")
    if len(data) < HEADER_BYTES:
        raise ProtocolError(f"DHIP header needs {HEADER_BYTES} bytes, got {len(data)}")
    if bytes(data[4:8]) != DHIP_MAGIC:
        raise ProtocolError("no DHIP magic at bytes 4..7")
    session_id, request_id, length, _, total, _ = struct.unpack("<IIIIII", bytes(data[8:32]))
    if length > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"absurd DHIP payload length {length}")
    return DhipHeader(session_id, request_id, length, total)


def is_dhip(data: bytes) -> bool:
    return len(data) >= 8 and bytes(data[4:8]) == DHIP_MAGIC


def build_login_challenge_request(request_id: int = 1, user_name: str = "admin") -> bytes:
    """The DHIP global.login challenge request (empty password; see the module docstring)."""
    message = {
        "id": request_id,
        "magic": "0x1234",
        "method": "global.login",
        "params": {
            "userName": user_name,
            "password": "",
            "clientType": "Web3.0",
            "loginType": "Direct",
        },
        "session": 0,
    }
    payload = json.dumps(message, separators=(",", ":")).encode()
    return build_dhip(payload, session_id=0, request_id=request_id)


def build_login_challenge_reply(
    *,
    realm: str,
    mac: str | None,
    random: str,
    session: int,
    request_id: int = 1,
    encryption: str = "Default",
) -> bytes:
    """The device side: the documented challenge answer, as a DHIP message."""
    params: dict[str, Any] = {"encryption": encryption}
    if mac is not None:
        params["mac"] = mac
    params.update({"random": random, "realm": realm})
    message = {
        "error": {"code": LOGIN_CHALLENGE_CODE, "message": LOGIN_CHALLENGE_MESSAGE},
        "id": request_id,
        "params": params,
        "result": False,
        "session": session,
    }
    payload = json.dumps(message, separators=(",", ":")).encode() + b"\n"
    return build_dhip(payload, session_id=session & 0xFFFFFFFF, request_id=request_id)


def decode_json_object(payload: bytes) -> dict[str, Any]:
    """The first JSON object of a payload (trailing newline/NUL/more objects tolerated)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"JSON payload larger than {MAX_PAYLOAD_BYTES} bytes")
    text = bytes(payload).decode("utf-8", errors="replace").strip("\x00 \t\r\n")
    start = text.find("{")
    if start < 0:
        raise ProtocolError("no JSON object in payload")
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"bad JSON payload: {type(exc).__name__}") from exc
    if not isinstance(value, dict):
        raise ProtocolError("JSON payload is not an object")
    return value


def _str(value: object) -> str | None:
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def parse_login_reply(payload: bytes) -> DhipLoginReply:
    """Parse the JSON answer to global.login. Raises ProtocolError on non-JSON."""
    message = decode_json_object(payload)
    error = message.get("error")
    error = error if isinstance(error, dict) else {}
    params = message.get("params")
    params = params if isinstance(params, dict) else {}
    code = error.get("code")
    result = message.get("result")
    return DhipLoginReply(
        error_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        error_message=_str(error.get("message")),
        realm=_str(params.get("realm")),
        mac=_str(params.get("mac")),
        encryption=_str(params.get("encryption")),
        random=_str(params.get("random")),
        session=_str(message.get("session")),
        result=result if isinstance(result, bool) else None,
    )


def build_dvrip_header(command: int, subcode: int = 0, payload_length: int = 0) -> bytes:
    """A 32-byte DVRIP header (the lab's b0 reply); unknown bytes are zero."""
    if not (0 <= command <= 0xFF and 0 <= subcode <= 0xFF):
        raise ValueError("command and subcode are single bytes")
    return bytes([command, subcode, 0, 0]) + struct.pack("<I", payload_length) + bytes(24)


def parse_dvrip_header(data: bytes) -> DvripHeader:
    """Parse a 32-byte DVRIP binary header. Raises ProtocolError."""
    if not isinstance(data, bytes | bytearray):
        raise ProtocolError("header must be bytes")
    if len(data) < HEADER_BYTES:
        raise ProtocolError(f"DVRIP header needs {HEADER_BYTES} bytes, got {len(data)}")
    if is_dhip(data):
        raise ProtocolError("this is a DHIP header, not DVRIP")
    (length,) = struct.unpack("<I", bytes(data[4:8]))
    if length > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"absurd DVRIP payload length {length}")
    return DvripHeader(data[0], data[1], length, bytes(data[:HEADER_BYTES]))


# --- DHDiscover (UDP 37810) --------------------------------------------------------------
#
# The same DHIP header, then ``{"method":"DHDiscover.search","params":{"mac":"","uni":1}}``
# sent to 239.255.255.251:37810 or broadcast (bare JSON gets no reply). Devices answer with
# ``client.notifyDevInfo`` and ``params.deviceInfo`` {DeviceClass, DeviceType, SerialNo,
# Version, HttpPort, Port, MachineName, Vendor, Manufacturer, IPv4Address{…}, …};
# ``Vendor``/``Manufacturer`` carry the OEM's name. Sources: ``rroller/dahua``
# ``discovery.py``; ``mcw0/DahuaConsole`` ``net.py`` (knowledge/fingerprint-signals.md §3).

DHDISCOVER_PORT = 37810
DHDISCOVER_MULTICAST_GROUP = "239.255.255.251"
DHDISCOVER_SEARCH = "DHDiscover.search"
DHDISCOVER_NOTIFY = "client.notifyDevInfo"
#: Flattened deviceInfo entries kept from one reply.
MAX_DEVICE_INFO_FIELDS = 64


@dataclass(frozen=True)
class DhDiscoverReply:
    method: str | None
    mac: str | None
    #: deviceInfo flattened to ("IPv4Address.IPAddress", "…") pairs, scalars as text.
    device_info: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        for key, value in self.device_info:
            if key == name:
                return value
        return None


def build_dhdiscover_search(request_id: int = 0) -> bytes:
    """The DHDiscover.search request (DHIP header + JSON)."""
    message = {"method": DHDISCOVER_SEARCH, "params": {"mac": "", "uni": 1}}
    payload = json.dumps(message, separators=(",", ":")).encode()
    return build_dhip(payload, session_id=0, request_id=request_id)


def parse_dhdiscover_search(data: bytes) -> bool:
    """The lab side: True when ``data`` is a DHIP-framed DHDiscover.search."""
    header = parse_dhip_header(data)
    message = decode_json_object(bytes(data[HEADER_BYTES : HEADER_BYTES + header.payload_length]))
    return message.get("method") == DHDISCOVER_SEARCH


def build_dhdiscover_reply(device_info: dict[str, Any], mac: str) -> bytes:
    """The device side: a client.notifyDevInfo reply (lab and tests)."""
    message = {"mac": mac, "method": DHDISCOVER_NOTIFY, "params": {"deviceInfo": device_info}}
    return build_dhip(json.dumps(message, separators=(",", ":")).encode())


def _flatten(value: object, prefix: str, out: list[tuple[str, str]], depth: int) -> None:
    if len(out) >= MAX_DEVICE_INFO_FIELDS or depth > 3:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            _flatten(item, name[:64], out, depth + 1)
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif isinstance(value, str | int | float):
        out.append((prefix, str(value)[:_MAX_TEXT]))


def parse_dhdiscover_reply(data: bytes) -> DhDiscoverReply:
    """Parse a DHIP-framed notifyDevInfo (bare JSON is accepted too). Raises ProtocolError."""
    if is_dhip(data):
        header = parse_dhip_header(data)
        payload = bytes(data[HEADER_BYTES : HEADER_BYTES + header.payload_length])
    else:
        payload = bytes(data)
    message = decode_json_object(payload)
    params = message.get("params")
    params = params if isinstance(params, dict) else {}
    info = params.get("deviceInfo")
    if not isinstance(info, dict):
        raise ProtocolError("DHDiscover reply without params.deviceInfo")
    flattened: list[tuple[str, str]] = []
    _flatten(info, "", flattened, 0)
    mac = _str(message.get("mac")) or _str(params.get("mac"))
    return DhDiscoverReply(_str(message.get("method")), mac, tuple(flattened))


# --- HTTP CGI replies (``magicBox.cgi``, ``configManager.cgi``) --------------------------
#
# Plain text, one ``key=value`` per line (``deviceType=IPC-HDW2431T-AS-S2``,
# ``table.T2UServer.Enable=true``).

#: Bytes and lines of a CGI reply read; longer values are cut.
MAX_CGI_BYTES = 16 * 1024
MAX_CGI_LINES = 200
MAX_CGI_VALUE_CHARS = 200


def parse_cgi_values(body: bytes) -> dict[str, str]:
    """``key=value`` lines of a Dahua CGI reply (capped); other lines are skipped."""
    values: dict[str, str] = {}
    text = bytes(body[:MAX_CGI_BYTES]).decode("utf-8", errors="replace")
    for line in text.splitlines()[:MAX_CGI_LINES]:
        key, equals, value = line.partition("=")
        if equals and key.strip():
            values[key.strip()] = value.strip()[:MAX_CGI_VALUE_CHARS]
    return values
