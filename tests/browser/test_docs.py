"""/docs in headless chromium with every request outside the API origin refused:
Swagger UI comes from the fastapi-offline package, not from a CDN."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration]
OPERATIONS = ("/api/chat", "/api/chat/stream", "/api/tasks", "/v1/chat/completions")


def offline_page(new_page: Any, origin: str) -> tuple[Any, list[str]]:
    page = new_page(1280, 900)
    refused: list[str] = []

    def only_api(route: Any) -> None:
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_api)
    return page, refused


def test_swagger_ui_lists_operations_offline(new_page: Any, servers: Any) -> None:
    page, refused = offline_page(new_page, servers.api_origin)
    page.goto(servers.api_origin + "/docs")
    page.locator(".opblock").first.wait_for(state="visible", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    for op in OPERATIONS:
        assert any(p.replace("\u200b", "") == op for p in paths), (op, paths)
    assert page.title().endswith("Swagger UI")
    assert refused == [] and page.page_errors == []


def test_no_redoc(servers: Any) -> None:
    """ReDoc's bundle fetches its logo from a CDN, so it is not offered."""
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(servers.api_origin + "/redoc", timeout=10)
    assert err.value.code == 404
