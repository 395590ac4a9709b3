"""Every request needs a live token: 401 without one, 403 for an agent on an admin route,
with nothing in the body but the error, and a log line that holds no token."""

from __future__ import annotations

import logging

import httpx
import openai
import pytest

ENDPOINTS = [
    ("GET", "/v1/models"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/api/conversations"),
    ("GET", "/api/search?q=password"),
    ("GET", "/api/approved"),
    ("DELETE", "/api/sources?source=x"),
]


def only_an_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status
    body = response.json()
    assert list(body) == ["error"] and set(body["error"]) == {"message", "type", "code"}
    return body["error"]["message"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc", "Bearer"])
def test_a_missing_or_wrong_token_gets_401_and_nothing_else(server, method, path, header):
    headers = {"Authorization": header} if header else {}
    response = httpx.request(method, server.url + path, headers=headers, json={}, timeout=30)
    assert "token" in only_an_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_stops_working(server):
    users = server.state.users
    _, token = users.add("dee", "agent")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/conversations", headers=headers).status_code == 200
    users.revoke("dee")
    only_an_error(httpx.get(f"{server.url}/api/conversations", headers=headers), 401)


def test_the_openai_client_with_a_wrong_key_is_refused(server):
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", timeout=30)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_an_agent_on_an_admin_route_gets_403_and_nothing_changes(server):
    sources = httpx.get(f"{server.url}/api/sources", headers=server.headers("ann")).json()
    target = sources[0]["source"]
    response = httpx.delete(
        f"{server.url}/api/sources", params={"source": target}, headers=server.headers("ann")
    )
    assert "admin" in only_an_error(response, 403)
    for path in ("/api/users", "/api/adapters/rollback"):
        method = "GET" if path == "/api/users" else "POST"
        response = httpx.request(method, server.url + path, headers=server.headers("bob"))
        only_an_error(response, 403)
    after = httpx.get(f"{server.url}/api/sources", headers=server.headers("ann")).json()
    assert after == sources


def test_refusals_are_logged_in_one_line_without_the_token(server, caplog):
    caplog.set_level(logging.INFO, logger="deskloop.server")
    httpx.get(f"{server.url}/api/conversations", headers={"Authorization": "Bearer sekrit-x"})
    httpx.get(f"{server.url}/api/users", headers=server.headers("ann"))
    lines = [r.getMessage() for r in caplog.records if r.name == "deskloop.server"]
    assert any(line.startswith("401 GET /api/conversations") for line in lines)
    assert any(line.startswith("403 GET /api/users by ann") for line in lines)
    text = "\n".join(lines)
    assert "sekrit-x" not in text and server.tokens["ann"] not in text
    assert all("\n" not in line for line in lines)


def test_the_docs_are_open_and_name_the_bearer_scheme(server):
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert "/v1/chat/completions" in schema["paths"] and "/api/ask" in schema["paths"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_answers_past_the_rate_limit_get_429(start_server):
    limited = start_server(rate_limit=2)
    body = {"messages": [{"role": "user", "content": "How do I reset my password?"}]}
    url = f"{limited.url}/v1/chat/completions"
    codes = [
        httpx.post(url, json=body, headers=limited.headers("bob"), timeout=60).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    other = httpx.post(url, json=body, headers=limited.headers("ann"), timeout=60)
    assert other.status_code == 200  # the limit is per token
    refused = httpx.post(url, json=body, headers=limited.headers("bob"), timeout=60)
    assert "a minute" in only_an_error(refused, 429) and int(refused.headers["retry-after"]) >= 1
