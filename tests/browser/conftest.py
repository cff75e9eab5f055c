"""Fixtures for the browser tests of the embeddable widget.

Two loopback origins, as in production:

* the API origin: the real app (`assistant.http.server.create_app`) under uvicorn, on an
  index built into a temporary directory; it serves /widget.js and the /api routes;
* the host-page origin: a tiny static server with a county-website page (our
  demo.html, with its hostile global CSS) that embeds
  `<script src="http://127.0.0.1:APIPORT/widget.js" data-plan="shizhu-2022" async>`,
  plus a plain page used as the styling baseline.

The API's CORS allow-list is exactly the host-page origin. The browser is Debian's
/usr/bin/chromium (see scripts/ensure_chromium.sh); Playwright never downloads one.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "assistant" / "http" / "static"
CHROMIUM = Path("/usr/bin/chromium")
MISSING_CHROMIUM = (
    f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk "
    "(as root: apt-get install -y --no-install-recommends chromium fonts-noto-cjk, "
    "or run scripts/ensure_chromium.sh)"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PLAN_ID = "shizhu-2022"

PLAIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>plain host page</title></head>
<body><p>没有任何样式的宿主页面（用于对比）。</p>
<script src="{api}/widget.js" data-plan="{plan}" async></script>
</body></html>
"""


CONFIGURED_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>configured host page</title></head>
<body><p>配置了全部 data-* 选项的宿主页面。</p>
<script src="{api}/widget.js" data-plan="dianjiang-2021" data-title="垫江政策助手"
  data-greeting="您好，这里是垫江县政策助手。" data-accent="#006644" data-position="left"
  data-open="true" async></script>
</body></html>
"""


def hostile_page(api_origin: str) -> str:
    """demo.html exactly as shipped, with the script pointed at the API origin."""
    html = (STATIC / "demo.html").read_text("utf-8")
    values = {"plan_id": "shizhu-2022", "lang": "zh", "widget_title": "政策助手",
              "issuer": "县人民政府", "title": "实施方案", "issued": "", "example": "第31项由谁牵头？"}
    for key, value in values.items():  # the server fills these from the index (/demo)
        html = html.replace("{{" + key + "}}", value)
    needle = 'src="/widget.js"'
    assert html.count(needle) == 1, "demo.html must embed the widget with one script tag"
    return html.replace(needle, f'src="{api_origin}/widget.js"')


@dataclass
class Servers:
    api_origin: str
    host_origin: str
    data_dir: Path
    settings: Any
    blocked_origin: str = ""  # serves the same pages, but is not on the CORS allow-list

    def page_url(self, name: str = "index.html") -> str:
        return f"{self.host_origin}/{name}"


def _host_server(pages: dict[str, str]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].lstrip("/") or "index.html"
            body = pages.get(path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):  # CI must run the browser tests, not skip them
            pytest.fail(MISSING_CHROMIUM)
        pytest.skip(MISSING_CHROMIUM)
    try:
        from assistant.http import server as server_mod
    except ImportError as exc:  # the server module is written by another workstream
        pytest.skip(f"assistant.http.server is not importable yet: {exc}")
    import uvicorn

    from assistant.ingest.index import build_index
    from assistant.settings import load_settings, prepare_offline_runtime

    pages: dict[str, str] = {}
    host = _host_server(pages)
    host_origin = f"http://127.0.0.1:{host.server_address[1]}"
    other = _host_server(pages)  # the same pages on an origin the API does not allow
    blocked_origin = f"http://127.0.0.1:{other.server_address[1]}"

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    api_port = sock.getsockname()[1]
    api_origin = f"http://127.0.0.1:{api_port}"

    tmp = tmp_path_factory.mktemp("widget-browser")
    data_dir = tmp / "data"
    data_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k.startswith("ASSISTANT_")}
    settings = load_settings(
        env,
        index_dir=tmp / "index",
        data_dir=data_dir,
        cors_origins=[host_origin],
        host="127.0.0.1",
        port=api_port,
        llm_base_url=None,  # extractive answers: deterministic and offline
        admin_token="browser-test-admin-token",  # for GET /api/feedback/{message_id}
        rate_limit_per_minute=100_000,
        rate_limit_burst=100_000,
    )
    prepare_offline_runtime(settings)
    build_index(settings)

    app = server_mod.create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)

    pages["index.html"] = hostile_page(api_origin)
    pages["plain.html"] = PLAIN_PAGE.format(api=api_origin, plan=PLAN_ID)
    pages["configured.html"] = CONFIGURED_PAGE.format(api=api_origin)
    try:
        yield Servers(api_origin, host_origin, data_dir, settings, blocked_origin)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        for s in (host, other):
            s.shutdown()
            s.server_close()


@pytest.fixture(scope="session")
def browser(servers: Servers) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Factory: a page in a fresh context (own sessionStorage) that records dialogs
    and uncaught errors in page.dialogs / page.page_errors."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 800, phone: bool = False) -> Any:
        """phone=True: a touch screen (coarse pointer, no hover), as on a mobile phone."""
        touch = {"is_mobile": True, "has_touch": True} if phone else {}
        ctx = browser.new_context(
            viewport={"width": width, "height": height}, locale="zh-CN", **touch
        )
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.dialogs = []
        page.page_errors = []

        def on_dialog(dialog: Any) -> None:
            page.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary directory, so that tests never rewrite tracked files; `make screenshots`
    sets SCREENSHOTS_DIR=docs/screenshots to refresh the ones in the docs."""
    wanted = os.environ.get("SCREENSHOTS_DIR")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
