"""Standard Webhooks signatures: `webhook-id`, `webhook-timestamp`, `webhook-signature`.

A secret is `whsec_` + base64 of 32 random bytes. The signature is `v1,` + base64 of
HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed with the decoded secret; with several secrets
(a rotation) every one signs, space separated, so receivers holding either verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def valid_secret(secret: str) -> bool:
    """A `whsec_` secret of 24 to 64 bytes (the spec's range)."""
    if not secret.startswith(PREFIX):
        return False
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return False
    return 24 <= len(key) <= 64


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets_),
    }
