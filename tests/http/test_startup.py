"""What an operator sees at start-up, and what widget.js learns from the server."""

from __future__ import annotations

import re

import httpx
import pytest

from .conftest import ALLOWED_ORIGIN, ServerProcess

pytestmark = pytest.mark.integration


def test_banner_names_the_urls_and_the_rate_limit(server: ServerProcess) -> None:
    # the banner is at the start of the log; a shared server's log grows with every request
    log = server.log_path.read_text("utf-8", errors="replace")  # restarts append to it
    for path in ("/demo", "/docs", "/v1", "/widget.js"):
        assert f"{server.url}{path}" in log, path
    assert "ASSISTANT_RATE_LIMIT_BURST" in log


def test_widget_js_carries_the_cors_allow_list(client: httpx.Client) -> None:
    js = client.get("/widget.js").text
    m = re.search(r"var ALLOWED_ORIGINS = (.*);", js)
    assert m and m.group(1) == f'["{ALLOWED_ORIGIN}"]'
    assert "/*ALLOWED_ORIGINS*/" not in js


def test_favicon(client: httpx.Client) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
