"""The makers' APIs read from data: reply parsing, the credential's place, the loader's checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provscan.credentials import Credential
from provscan.knowledge.base import Problems
from provscan.knowledge.device_api import (
    DeviceApiRequest,
    FieldRead,
    load_device_api,
    read_device_api,
)
from provscan.knowledge.loader import DEFAULT_DATA_DIR
from provscan.probes.credentialed import DATA_API_REQUESTS, read_fields, request_target

API = load_device_api()


def _request(request_id: str) -> DeviceApiRequest:
    return API.request(request_id)


def test_vapix_key_value_lines_become_fields() -> None:
    body = (
        b"root.Properties.API.HTTP.Version=3\r\n"
        b"root.Properties.Firmware.Version=10.12.182\r\n"
        b"root.Properties.System.SerialNumber=ACCC8E000001\r\n"
        b"garbage line without equals\r\n"
    )
    assert read_fields(_request("axis_vapix_properties"), body) == {
        "axis.firmware": "10.12.182",
        "axis.serial": "ACCC8E000001",
    }


def test_sunapi_answers_as_lines_or_as_a_flat_json_object() -> None:
    request = _request("hanwha_sunapi_deviceinfo")
    lines = b"Model=XNV-8080R\r\nFirmwareVersion=2.21.01_20220801\r\nSerialNumber=ZC7V\r\n"
    as_json = (
        b'{"Model": "XNV-8080R", "FirmwareVersion": "2.21.01_20220801", "SerialNumber": "ZC7V"}'
    )
    expected = {
        "hanwha.model": "XNV-8080R",
        "hanwha.firmware": "2.21.01_20220801",
        "hanwha.serial": "ZC7V",
    }
    assert read_fields(request, lines) == expected
    assert read_fields(request, as_json) == expected


def test_json_paths_index_lists_and_skip_what_is_not_text() -> None:
    reolink = _request("reolink_api_devinfo")
    body = (
        b'[{"cmd":"GetDevInfo","code":0,"value":{"DevInfo":'
        b'{"model":"RLC-410W","firmVer":"v3.0.0.136_20121102","serial":{"not":"text"}}}}]'
    )
    assert read_fields(reolink, body) == {
        "reolink.model": "RLC-410W",
        "reolink.firmware": "v3.0.0.136_20121102",
    }
    refused = b'[{"cmd":"GetDevInfo","code":1,"error":{"detail":"please login first"}}]'
    assert read_fields(reolink, refused) == {}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[1, 2",
        b"\xff\xfe\x00garbage",
        b'{"Response": []}',
        b'{"Response": {"Data": null}}',
        b"[" * 5000,
        b"x=" + b"y" * 200_000,
    ],
)
def test_hostile_replies_give_no_field_and_no_exception(body: bytes) -> None:
    for request_id in ("uniview_lapi_deviceinfo", "reolink_api_devinfo"):
        assert read_fields(_request(request_id), body) == {}
    values = read_fields(_request("axis_vapix_properties"), body)
    assert all(len(v) <= 200 for v in values.values())


def test_values_are_capped() -> None:
    body = b"Model=" + b"M" * 5000
    assert len(read_fields(_request("hanwha_sunapi_deviceinfo"), body)["hanwha.model"]) == 200


def test_the_credential_fills_only_query_placeholders_and_is_url_encoded() -> None:
    credential = Credential(username="ad min", password="p&ss=w?rd#")
    reolink = _request("reolink_api_devinfo")
    target = request_target(reolink, credential)
    assert target.endswith("&user=ad%20min&password=p%26ss%3Dw%3Frd%23")
    assert "{" not in target
    assert request_target(_request("uniview_lapi_deviceinfo"), credential) == (
        "/LAPI/V1.0/System/DeviceInfo"
    )


def test_every_data_request_is_a_read_listed_for_the_readme() -> None:
    assert set(DATA_API_REQUESTS) == {"axis-vapix", "hanwha-sunapi", "uniview-lapi", "reolink-api"}
    for api, requests in API.data_apis().items():
        assert DATA_API_REQUESTS[api] == tuple(("GET", request.path) for request in requests)
        for request in requests:
            assert request.fields and request.sources and request.format


def _with_request(tmp_path: Path, text: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    with (data / "device_api.yaml").open("a", encoding="utf-8") as handle:
        handle.write(text)
    return data


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "path: /api.cgi?cmd=GetDevInfo&user={username}&password={password}\n",
            "credential placeholders only with auth: query_over_tls",
        ),
        (
            "path: /api.cgi?cmd=GetDevInfo\n    auth: query_over_tls\n",
            "query_over_tls needs {username} and {password}",
        ),
        ("path: /cgi-bin/api.cgi?cmd=SetDevName\n", "requests must only read"),
        ("path: /axis-cgi/param.cgi?action=update&root.Brand.Brand=x\n", "must only read"),
        ("path: /stw-cgi/system.cgi?msubmenu=factoryreset&action=control\n", "must only read"),
        ("path: /axis-cgi/firmwaremanagement.cgi?upgrade\n", "requests must only read"),
    ],
)
def test_the_loader_refuses_a_misplaced_credential_or_a_write(
    tmp_path: Path, entry: str, message: str
) -> None:
    data = _with_request(
        tmp_path,
        "  - id: test_request\n"
        "    api: test-api\n"
        "    vendors: [Axis]\n"
        "    use: credentialed\n"
        "    method: GET\n"
        f"    {entry}"
        "    reads: test\n"
        "    format: key_value\n"
        "    fields: [{key: a, field: test.value}]\n"
        "    sources: [test]\n",
    )
    problems = Problems(data)
    read_device_api(data, problems)
    text = "\n".join(str(problem) for problem in problems.items)
    assert message in text, text


def test_a_field_list_needs_an_api_and_a_format(tmp_path: Path) -> None:
    data = _with_request(
        tmp_path,
        "  - id: test_request\n"
        "    vendors: [Axis]\n"
        "    use: credentialed\n"
        "    method: GET\n"
        "    path: /axis-cgi/param.cgi?action=list&group=root.Brand\n"
        "    reads: test\n"
        "    fields: [{key: a, field: Not A Field}]\n"
        "    sources: [test]\n",
    )
    problems = Problems(data)
    read_device_api(data, problems)
    text = "\n".join(str(problem) for problem in problems.items)
    assert "needs 'api' and 'format'" in text
    assert "is not a field name" in text


def test_field_reads_know_their_roles() -> None:
    assert FieldRead(key="Model", field="hanwha.model", role="model").role == "model"
    assert set(API.fields_with_role("firmware")) >= {
        "axis.firmware",
        "hanwha.firmware",
        "uniview.firmware",
        "reolink.firmware",
    }
