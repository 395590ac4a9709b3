"""Adapters through the server: everyone lists them; only admins switch, and who is kept."""

from __future__ import annotations

import httpx
import pytest

from tuning.registry import AdapterRegistry


@pytest.fixture(scope="module")
def with_adapters(server, team_settings, tmp_path_factory):
    candidate = tmp_path_factory.mktemp("candidate")
    (candidate / "adapter_config.json").write_text("{}")
    (candidate / "adapter_model.safetensors").write_bytes(b"not really weights")
    registry = AdapterRegistry.for_settings(team_settings)
    versions = [registry.register(candidate, {"decision": {"promote": True}}) for _ in range(2)]
    server.state.registry = registry
    yield versions
    server.state.registry = None


def test_models_and_adapters_list_the_versions(server, with_adapters):
    models = httpx.get(f"{server.url}/v1/models", headers=server.headers("ann")).json()
    assert [m["id"] for m in models["data"]] == ["deskloop", "base", *with_adapters]
    listed = httpx.get(f"{server.url}/api/adapters", headers=server.headers("ann")).json()
    assert [a["version"] for a in listed["adapters"]] == with_adapters


def test_an_admin_promotes_and_rolls_back_and_the_pointer_names_them(server, with_adapters):
    first, second = with_adapters
    url = f"{server.url}/api/adapters"
    refused = httpx.post(f"{url}/{first}/promote", headers=server.headers("ann"))
    assert refused.status_code == 403
    assert server.state.registry.active() is None
    promoted = httpx.post(f"{url}/{first}/promote", headers=server.headers("cho")).json()
    assert promoted == {"previous": "base", "active": first, "forced": False}
    httpx.post(f"{url}/{second}/promote", headers=server.headers("cho"))
    listed = httpx.get(url, headers=server.headers("ann")).json()
    assert listed["active"] == second and listed["changed_by"] == "cho"
    back = httpx.post(f"{url}/rollback", headers=server.headers("cho")).json()
    assert back == {"previous": second, "active": first}
    assert server.state.registry.changed_by() == "cho"
    httpx.post(f"{url}/rollback", headers=server.headers("cho"))
    assert server.state.registry.active() is None


def test_an_unknown_adapter_is_a_404(server, with_adapters):
    response = httpx.post(f"{server.url}/api/adapters/v0042/promote", headers=server.headers("cho"))
    assert response.status_code == 404
    assert "deskloop adapters list" in response.json()["error"]["message"]
