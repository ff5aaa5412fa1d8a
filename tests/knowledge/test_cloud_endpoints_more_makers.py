"""Phone-home services of more makers (issue 11 point 6): names reach the right service.

The names go through the loader and matcher the passive analysis uses
(``load_cloud_endpoints`` + ``CloudMatcher``), then through attribution: a Dahua relabel's
cloud names the label brand only, and no cloud name alone makes a host restricted.
"""

from __future__ import annotations

import pytest

from provscan.attribution.attribute import Attributor
from provscan.knowledge.loader import load_cloud_endpoints, load_knowledge
from provscan.model import Device, Observation
from provscan.passive.cloud import CloudMatcher
from provscan.policy.evaluate import judge

KNOWLEDGE = load_knowledge()
CLOUD = CloudMatcher(load_cloud_endpoints(knowledge=KNOWLEDGE))
ATTRIBUTOR = Attributor(KNOWLEDGE)
POLICIES = KNOWLEDGE.select_policies(None)


@pytest.mark.parametrize(
    ("name", "service_id", "vendor", "role"),
    [
        ("config.amcrestcloud.com", "amcrest-device", "Amcrest", "device"),
        ("p2p.amcrestview.com", "amcrest-p2p", "Amcrest", "p2p"),
        ("p2p.lorexservices.com", "lorex-p2p", "Lorex", "p2p"),
        ("access-dss.secu100.net", "xiongmai-xmeye-device", "Xiongmai", "device"),
        ("en.ezcloud.uniview.com", "uniview-ezcloud", "Uniview", "app"),
        ("dispatchse1.avhs.axis.com", "axis-avhs-dispatcher", "Axis", "device"),
        ("trace.svc.ui.com", "ubiquiti-trace", "Ubiquiti", "device"),
        ("security-device-access.ivyiot.io", "foscam-ivy-cloud", "Foscam", "device"),
        ("ca-mgr.auto.mydlink.com", "dlink-mydlink-device", "D-Link", "device"),
        ("www.mydlink.com", "dlink-mydlink", "D-Link", "app"),
        ("Nexus.Dropcam.com.", "google-nest-dropcam", "Google", "device"),
        ("smarthome.hicloud.com", "huawei-smarthome", "Huawei", "app"),
    ],
)
def test_a_new_cloud_name_reaches_its_service(
    name: str, service_id: str, vendor: str, role: str
) -> None:
    found = CLOUD.match(name)
    assert found is not None, name
    assert (found.id, found.vendor, found.role) == (service_id, vendor, role)


@pytest.mark.parametrize(
    "name",
    [
        "config.amcrestcloud.com.example.net",
        "notlorexservices.com",
        "mysecu100.net",
        "avhs.taxis.com",
        "trace.svc.gui.com",
        "www.amcrest.com",
        "home.nest.com",
    ],
)
def test_a_look_alike_name_reaches_no_service(name: str) -> None:
    assert CLOUD.match(name) is None


def host_looking_up(name: str) -> Device:
    observation = Observation("dns", 53, "dns.query", name)
    device = ATTRIBUTOR.attribute("127.0.0.1", [], [], extra_observations=[observation]).device
    return judge(device, POLICIES)


@pytest.mark.parametrize(
    ("name", "brand"),
    [
        ("config.amcrestcloud.com", "Amcrest"),
        ("p2p.lorexservices.com", "Lorex"),
        ("instaonserver.com", "CP PLUS"),
    ],
)
def test_a_relabel_cloud_names_the_brand_and_alone_is_not_restricted(name: str, brand: str) -> None:
    device = host_looking_up(name)
    assert device.brand == brand
    assert not device.restricted


@pytest.mark.parametrize(
    ("name", "maker"),
    [
        ("access-dss.secu100.net", "Xiongmai"),
        ("dispatchse1.avhs.axis.com", "Axis"),
        ("frontdoor.nest.com", "Google"),
    ],
)
def test_an_unrestricted_makers_cloud_names_it(name: str, maker: str) -> None:
    device = host_looking_up(name)
    assert device.manufacturer == maker
    assert not device.restricted


def test_huawei_smart_home_names_alone_do_not_establish_huawei() -> None:
    for name in ("smarthome.hicloud.com", "smarthome-drcn.dbankcdn.com"):
        device = host_looking_up(name)
        assert device.manufacturer is None and not device.restricted
