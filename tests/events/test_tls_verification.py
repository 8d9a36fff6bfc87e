"""`enable_ssl_verification`: on (the default), a receiver whose certificate does not verify gets
nothing and the delivery log says why; off, the same receiver gets the delivery."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from issuegraph.db.engine import Database
from tests.events.conftest import Deliverer
from tests.events.helpers import add_hook, logs
from tests.events.receiver import Receiver, running_receiver


@pytest.fixture
def https_receiver() -> Iterator[Receiver]:
    """A receiver on https://127.0.0.1 whose certificate a CA of its own signed: no trust store
    knows that CA, so a verifying client refuses the connection."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with running_receiver(tls=context) as receiver:
        yield receiver


def test_deliveries_verify_unless_turned_off(
    factory: Any, https_receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    """One event, two hooks to the same HTTPS receiver: the verifying hook's attempt fails with
    a TLS error in its log, the non-verifying hook's is delivered (200)."""
    project = factory.project("p1")
    verifying = add_hook(factory, project, https_receiver.url)
    trusting = add_hook(factory, project, https_receiver.url, enable_ssl_verification=False)
    assert verifying["enable_ssl_verification"] is True and trusting["enable_ssl_verification"] is False
    factory.issue(project, "over tls")
    deliverer.until(lambda: logs(database, verifying["id"]) and logs(database, trusting["id"]))
    refused = logs(database, verifying["id"])[0]
    assert refused.response_status is None
    assert "CERTIFICATE_VERIFY_FAILED" in (refused.internal_error or "")
    delivered = logs(database, trusting["id"])[0]
    assert (delivered.response_status, delivered.internal_error) == (200, None)
    [received] = https_receiver.requests
    assert received.json["object_attributes"]["title"] == "over tls"
    shown = factory.client.get(
        f"/api/v4/projects/{project['id']}/hooks/{verifying['id']}/events", headers=factory.admin.headers
    ).json()
    assert "CERTIFICATE_VERIFY_FAILED" in shown[0]["internal_error_message"]


def test_tests_and_resends_honour_the_setting(
    factory: Any, https_receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    """The test endpoint and resends (sent from the request) verify alike: 422 with the TLS
    error while verification is on; after an edit turns it off, the resend is delivered."""
    project = factory.project("p1")
    factory.issue(project, "sample")
    h = factory.admin.headers
    hook = add_hook(factory, project, https_receiver.url)
    base = f"/api/v4/projects/{project['id']}/hooks/{hook['id']}"
    failed = factory.client.post(f"{base}/test/issues_events", headers=h)
    assert failed.status_code == 422 and "CERTIFICATE_VERIFY_FAILED" in failed.json()["message"]
    assert https_receiver.requests == []
    edited = factory.client.put(base, headers=h, json={"enable_ssl_verification": False})
    assert edited.json()["enable_ssl_verification"] is False
    [log] = factory.client.get(f"{base}/events", headers=h).json()
    resent = factory.client.post(f"{base}/events/{log['id']}/resend", headers=h)
    assert (resent.status_code, resent.json()) == (201, {"response_status": 200})
    assert factory.client.post(f"{base}/test/issues_events", headers=h).json() == {"message": "201 Created"}
    assert len(https_receiver.requests) == 2
