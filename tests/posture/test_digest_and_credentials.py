"""HTTP Digest (RFC 7616), WS-UsernameToken and the credentials file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provscan.credentials import (
    Credential,
    CredentialsError,
    load_credentials,
    parse_credentials,
)
from provscan.errors import ProtocolError
from provscan.wire.digest import (
    DigestChallenge,
    digest_authorization,
    digest_response,
    parse_digest_authorization,
    parse_digest_challenge,
    password_digest,
    username_token_header,
    verify_username_token,
)


def test_rfc7616_md5_example() -> None:
    # RFC 7616 §3.9.1 (MD5): user Mufasa, password "Circle of Life".
    challenge = DigestChallenge(
        realm="http-auth@example.org",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        qop=("auth",),
        opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    )
    response = digest_response(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert response == "8ca523f5e9506fed4657c9700eebdbec"


def test_rfc2617_example_without_sess() -> None:
    # RFC 2617 §3.5: the classic example (qop=auth, nc=00000001).
    challenge = DigestChallenge(
        realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop=("auth",)
    )
    response = digest_response(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_challenge_parsing_of_device_headers() -> None:
    hik = parse_digest_challenge(
        'Digest qop="auth", realm="IP Camera(C1234)", nonce="4e5749", stale="FALSE"'
    )
    assert hik is not None and hik.realm == "IP Camera(C1234)" and hik.qop == ("auth",)
    dahua = parse_digest_challenge(
        'Digest realm="Login to 4M0747EPAA1D284", qop="auth", nonce="1234", opaque="ab"'
    )
    assert dahua is not None and dahua.opaque == "ab"
    assert parse_digest_challenge('Basic realm="hikvision"') is None
    with pytest.raises(ProtocolError):
        parse_digest_challenge('Digest realm="x"')


def test_authorization_round_trips_through_the_lab_parser() -> None:
    challenge = DigestChallenge(realm="r", nonce="n", qop=("auth",))
    header = digest_authorization(
        challenge, method="GET", uri="/a?b=c", username="u", password="p", cnonce="c"
    )
    params = parse_digest_authorization(header)
    assert params["uri"] == "/a?b=c" and params["qop"] == "auth" and params["nc"] == "00000001"
    assert "p" not in header.split("response=")[0].split('username="u"')[1]


def test_unsupported_qop_is_refused() -> None:
    challenge = DigestChallenge(realm="r", nonce="n", qop=("auth-int",))
    with pytest.raises(ProtocolError):
        digest_response(challenge, method="GET", uri="/", username="u", password="p", cnonce="c")


def test_username_token_digest_verifies() -> None:
    from datetime import UTC, datetime

    header = username_token_header(
        "admin", "secret", b"0123456789abcdef", datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert "secret" not in header
    digest = password_digest(b"0123456789abcdef", "2026-01-01T00:00:00Z", "secret")
    assert digest in header
    assert verify_username_token(
        "secret", digest, "MDEyMzQ1Njc4OWFiY2RlZg==", "2026-01-01T00:00:00Z"
    )
    assert not verify_username_token(
        "wrong", digest, "MDEyMzQ1Njc4OWFiY2RlZg==", "2026-01-01T00:00:00Z"
    )


# --- the credentials file -------------------------------------------------------------


def test_lookup_order_device_then_most_specific_subnet_then_default() -> None:
    store = parse_credentials(
        {
            "default": {"username": "d", "password": "pd"},
            "subnets": {
                "10.0.0.0/8": {"username": "wide", "password": "pw"},
                "10.1.2.0/24": {"username": "narrow", "password": "pn"},
            },
            "devices": {"10.1.2.3": {"username": "one", "password": "po"}},
        }
    )
    assert store.for_host("10.1.2.3") == Credential("one", "po", "device 10.1.2.3")
    assert store.for_host("10.1.2.4").username == "narrow"  # type: ignore[union-attr]
    assert store.for_host("10.9.9.9").username == "wide"  # type: ignore[union-attr]
    assert store.for_host("192.168.1.1").username == "d"  # type: ignore[union-attr]
    assert (
        parse_credentials({"devices": {"10.0.0.1": {"username": "a", "password": "b"}}}).for_host(
            "10.0.0.2"
        )
        is None
    )


def test_the_password_never_appears_in_repr_or_errors(tmp_path: Path) -> None:
    credential = Credential("admin", "Sup3r-Secret!", "default")
    assert "Sup3r-Secret!" not in repr(credential)
    with pytest.raises(CredentialsError) as caught:
        parse_credentials({"default": {"username": "admin", "password": "Sup3r-Secret!", "x": 1}})
    assert "Sup3r-Secret!" not in str(caught.value)
    broken = tmp_path / "creds.yaml"
    broken.write_text(
        'default: {username: admin, password: "Sup3r-Secret!"\n  bad: [', encoding="utf-8"
    )
    with pytest.raises(CredentialsError) as caught:
        load_credentials(broken)
    assert "Sup3r-Secret!" not in str(caught.value)


def test_yaml_and_toml_files_and_the_permission_warning(tmp_path: Path) -> None:
    toml = tmp_path / "creds.toml"
    toml.write_text(
        '[default]\nusername = "admin"\npassword = "x"\n[subnets."10.0.0.0/24"]\n'
        'username = "v"\npassword = "y"\n',
        encoding="utf-8",
    )
    os.chmod(toml, 0o600)
    store = load_credentials(toml)
    assert store.for_host("10.0.0.9").username == "v"  # type: ignore[union-attr]
    assert store.warnings == ()
    yaml_file = tmp_path / "creds.yaml"
    yaml_file.write_text("default: {username: admin, password: x}\n", encoding="utf-8")
    os.chmod(yaml_file, 0o644)
    assert any("readable by every user" in w for w in load_credentials(yaml_file).warnings)


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"default": "admin:x"},
        {"default": {"username": "", "password": "x"}},
        {"default": {"username": "a", "password": 12345}},
        {"devices": {"not-an-ip": {"username": "a", "password": "b"}}},
        {"subnets": {"10.0.0.0/33": {"username": "a", "password": "b"}}},
        {"other": {}},
    ],
)
def test_malformed_documents_are_refused(document: object) -> None:
    with pytest.raises(CredentialsError):
        parse_credentials(document)
