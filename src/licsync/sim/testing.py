"""Helpers for tests that talk to the simulator: an xrfkey-carrying client and JWT signing.

Test code only (the QRS client has its own request building); kept in the package so every
test module, the client's included, can share them without a conftest.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["XRFKEY", "qrs_client", "sign_rs256"]

XRFKEY = "0123456789abcdef"
"""A valid xrfkey: 16 characters of [0-9A-Za-z]."""


def qrs_client(
    base_url: str,
    *,
    user: str | None = "UserDirectory=INTERNAL; UserId=sa_api",
    xrfkey: str = XRFKEY,
    **kwargs: Any,
) -> httpx.Client:
    """An ``httpx.Client`` that sends the xrfkey (query and header) and ``X-Qlik-User``.

    Args:
        base_url: the simulator's URL (``sim.url``), optionally with a proxy prefix.
        user: the ``X-Qlik-User`` value; None sends none.
        kwargs: passed to ``httpx.Client`` (``verify=``, ``auth=``, ``headers=``, ...).
    """
    headers = {"X-Qlik-Xrfkey": xrfkey, **kwargs.pop("headers", {})}
    if user is not None:
        headers["X-Qlik-User"] = user
    params = {"xrfkey": xrfkey, **kwargs.pop("params", {})}
    return httpx.Client(base_url=base_url, headers=headers, params=params, **kwargs)


def sign_rs256(claims: Mapping[str, Any], key: rsa.RSAPrivateKey) -> str:
    """A compact JWT of ``claims`` signed RS256 with ``key``."""
    header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(dict(claims)).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64url(signature)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
