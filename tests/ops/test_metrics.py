"""Prometheus metrics at /-/metrics: requests by route template and status, latency, database
statements and pool, links created and refused, the outbox backlog."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from tests.conftest import ADMIN_TOKEN

HEADERS = {"PRIVATE-TOKEN": ADMIN_TOKEN}


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/-/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template_and_status(client, factory):
    """Three reads of two issues count under one route template, a 404 under its own status."""
    project = factory.project("metrics")
    first, second = factory.issue(project), factory.issue(project)
    route = "/api/v4/projects/{project_id}/issues/{issue_iid}"
    before = scrape(client)
    for issue in (first, second, first):
        assert (
            client.get(f"/api/v4/projects/{project['id']}/issues/{issue['iid']}", headers=HEADERS).status_code
            == 200
        )
    assert client.get(f"/api/v4/projects/{project['id']}/issues/999", headers=HEADERS).status_code == 404
    after = scrape(client)
    counted = {
        labels: after[(name, labels)] - before.get((name, labels), 0.0)
        for (name, labels) in after
        if name == "issuegraph_http_requests_total" and dict(labels)["route"] == route
    }
    counted = {labels: n for labels, n in counted.items() if n}  # other tests' requests: no change
    assert counted == {
        (("method", "GET"), ("route", route), ("status", "200")): 3.0,
        (("method", "GET"), ("route", route), ("status", "404")): 1.0,
    }
    latency = "issuegraph_http_request_duration_seconds_count"
    assert (
        value(after, latency, method="GET", route=route) - value(before, latency, method="GET", route=route)
        == 4
    )


def test_unmatched_paths_share_one_label(client):
    """Paths that match no route do not each make a label set (bounded cardinality)."""
    before = scrape(client)
    for n in range(3):
        client.get(f"/no/such/path/{n}")
    after = scrape(client)
    name, labels = (
        "issuegraph_http_requests_total",
        {"method": "GET", "route": "<unmatched>", "status": "404"},
    )
    assert value(after, name, **labels) - value(before, name, **labels) == 3


def test_database_statements_and_pool_are_measured(client):
    """Each request's statements are timed and the pool's connections counted."""
    before = scrape(client)
    assert client.get("/api/v4/projects", headers=HEADERS).status_code == 200
    after = scrape(client)
    count = "issuegraph_db_query_duration_seconds_count"
    assert value(after, count, engine="requests") > value(before, count, engine="requests")
    assert value(after, "issuegraph_db_pool_connections_opened_total", engine="requests") >= 1
    assert ("issuegraph_db_pool_connections_in_use", (("engine", "requests"),)) in after


def test_links_created_and_refused_by_rule_are_counted(client, factory, database_url):
    """A created link counts by type; a self link and a duplicate count as refused, by reason."""
    project = factory.project("links")
    a, b = factory.issue(project), factory.issue(project)
    before = scrape(client)
    factory.link(a, b, "blocks")
    url = f"/api/v4/projects/{project['id']}/issues/{a['iid']}/links"
    body = {"target_project_id": project["id"], "target_issue_iid": a["iid"], "link_type": "relates_to"}
    assert client.post(url, headers=HEADERS, json=body).status_code == 422
    body["target_issue_iid"] = b["iid"]
    assert client.post(url, headers=HEADERS, json=body).status_code == 409
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("issuegraph_links_created_total", link_type="blocks") == 1
    assert delta("issuegraph_links_refused_total", reason="self_link") == 1
    assert delta("issuegraph_links_refused_total", reason="link_exists") == 1
    engine = create_engine(database_url)
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    engine.dispose()
    assert events > 0 and value(after, "issuegraph_outbox_backlog") == events
