"""The SSRF guard on publisher URLs."""

from __future__ import annotations

import pytest

from inkline.publishing.outbound import UnsafeTarget, check_url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/wp-json/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("https://192.168.0.10/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://169.254.10.10/", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://0.0.0.0/", "private"),
        ("http://100.64.0.1/", "not a public"),
        ("ftp://example.com/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///nohost", "no host"),
    ],
)
def test_non_public_targets_are_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeTarget, match=why):
        check_url(url, allow_private=False)


def test_public_addresses_pass() -> None:
    check_url("https://93.184.215.14/wp-json/", allow_private=False)
    check_url("http://[2606:4700:4700::1111]/", allow_private=False)


def test_allowing_private_targets_still_refuses_metadata_endpoints() -> None:
    check_url("http://127.0.0.1:8080/", allow_private=True)
    check_url("http://10.0.0.7/", allow_private=True)
    with pytest.raises(UnsafeTarget, match="metadata"):
        check_url("http://169.254.169.254/", allow_private=True)


def test_the_setting_is_the_default(settings: object) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = False  # type: ignore[attr-defined]
    with pytest.raises(UnsafeTarget):
        check_url("http://127.0.0.1/")
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True  # type: ignore[attr-defined]
    check_url("http://127.0.0.1/")
