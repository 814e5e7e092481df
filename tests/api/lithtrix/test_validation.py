"""Lithtrix is a FastAPI service: its 422 bodies are pydantic v2's errors, exactly, for the
requests clients really get wrong (these bodies were checked against FastAPI's behaviour)."""

from __future__ import annotations

from tests.api.lithtrix.conftest import P


def detail(response):
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()["detail"]


def test_search_parameters(api, agent):
    h = agent.headers
    assert detail(api.get(f"{P}/v1/search", headers=h)) == [
        {"type": "missing", "loc": ["query", "q"], "msg": "Field required", "input": None}]
    assert detail(api.get(f"{P}/v1/search", params={"q": ""}, headers=h)) == [
        {"type": "string_too_short", "loc": ["query", "q"], "msg": "String should have at least 1 character",
         "input": "", "ctx": {"min_length": 1}}]
    assert detail(api.get(f"{P}/v1/search", params={"q": "x" * 501}, headers=h)) == [
        {"type": "string_too_long", "loc": ["query", "q"], "msg": "String should have at most 500 characters",
         "input": "x" * 501, "ctx": {"max_length": 500}}]
    assert detail(api.get(f"{P}/v1/search", params={"q": "a", "num_results": "ten"}, headers=h)) == [
        {"type": "int_parsing", "loc": ["query", "num_results"],
         "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "ten"}]
    assert detail(api.get(f"{P}/v1/search", params={"q": "a", "num_results": "21"}, headers=h)) == [
        {"type": "less_than_equal", "loc": ["query", "num_results"], "msg": "Input should be less than or equal to 20",
         "input": "21", "ctx": {"le": 20}}]
    assert detail(api.get(f"{P}/v1/search", params={"q": "a", "num_results": "0"}, headers=h)) == [
        {"type": "greater_than_equal", "loc": ["query", "num_results"],
         "msg": "Input should be greater than or equal to 1", "input": "0", "ctx": {"ge": 1}}]
    # Several problems are all reported, in parameter order.
    assert [d["loc"] for d in detail(api.get(f"{P}/v1/search", params={"num_results": "99"}, headers=h))] == [
        ["query", "q"], ["query", "num_results"]]


def test_register_body(api):
    assert detail(api.post(f"{P}/v1/register", json={})) == [
        {"type": "missing", "loc": ["body", "agent_name"], "msg": "Field required", "input": {}},
        {"type": "missing", "loc": ["body", "owner_identifier"], "msg": "Field required", "input": {}}]
    assert detail(api.post(f"{P}/v1/register", json={"agent_name": "a b", "owner_identifier": 5})) == [
        {"type": "string_pattern_mismatch", "loc": ["body", "agent_name"],
         "msg": "String should match pattern '^[a-zA-Z0-9_-]+$'", "input": "a b",
         "ctx": {"pattern": "^[a-zA-Z0-9_-]+$"}},
        {"type": "string_type", "loc": ["body", "owner_identifier"], "msg": "Input should be a valid string",
         "input": 5}]
    assert detail(api.post(f"{P}/v1/register", json={"agent_name": "x" * 101, "owner_identifier": "o"})) == [
        {"type": "string_too_long", "loc": ["body", "agent_name"], "msg": "String should have at most 100 characters",
         "input": "x" * 101, "ctx": {"max_length": 100}}]
    assert detail(api.post(f"{P}/v1/register", json=["agent"])) == [
        {"type": "model_attributes_type", "loc": ["body"],
         "msg": "Input should be a valid dictionary or object to extract fields from", "input": ["agent"]}]


def test_malformed_and_missing_bodies(api):
    assert detail(api.post(f"{P}/v1/register", content=b'{"agent_name": ',
                           headers={"Content-Type": "application/json"})) == [
        {"type": "json_invalid", "loc": ["body", 15], "msg": "JSON decode error", "input": {},
         "ctx": {"error": "Expecting value"}}]
    assert detail(api.post(f"{P}/v1/register", content=b"", headers={"Content-Type": "application/json"})) == [
        {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]


def test_billing_setup_body(api, agent):
    assert detail(api.post(f"{P}/v1/billing/setup", json={"payment_method_id": ""}, headers=agent.headers)) == [
        {"type": "string_too_short", "loc": ["body", "payment_method_id"],
         "msg": "String should have at least 1 character", "input": "", "ctx": {"min_length": 1}}]


def test_admin_paging_parameters(api):
    from tests.api.lithtrix.conftest import ADMIN_KEY

    assert detail(api.get(f"{P}/admin/agents", params={"page_size": "500"}, headers={"X-Admin-Key": ADMIN_KEY})) == [
        {"type": "less_than_equal", "loc": ["query", "page_size"], "msg": "Input should be less than or equal to 100",
         "input": "500", "ctx": {"le": 100}}]


def test_routing_errors_are_fastapis(api):
    assert api.get(f"{P}/v1/nothing-here").json() == {"detail": "Not Found"}
    r = api.delete(f"{P}/v1/search")
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"} and r.headers["Allow"] == "GET"
