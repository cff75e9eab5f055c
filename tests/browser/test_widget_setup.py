"""What an integrator and a first-time visitor see: the start state with every suggestion
chip visible (desktop and phone, with the touch hint on phones), the widget on a page
whose origin the server does not allow, and the "导出清单" button under list answers."""

from __future__ import annotations

import io
import json
import urllib.parse
import urllib.request
from typing import Any

import pytest
from openpyxl import load_workbook

from .test_widget import ask, last_answer, open_page, open_widget

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

# every chip: inside the panel, above the input, and the topmost element at its centre
CHIPS_JS = """() => {
  const r = document.querySelector('plan-assistant').shadowRoot;
  const panel = r.querySelector('.panel').getBoundingClientRect();
  const composer = r.querySelector('.composer').getBoundingClientRect();
  return [...r.querySelectorAll('.suggest .chip')].map(c => {
    const b = c.getBoundingClientRect();
    const hit = r.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
    return {text: c.textContent, top: b.top, bottom: b.bottom, left: b.left, right: b.right,
            inside: b.top >= panel.top && b.bottom <= composer.top &&
                    b.left >= panel.left && b.right <= panel.right,
            onTop: hit === c || c.contains(hit)};
  });
}"""


def plan_suggestions(servers: Any) -> list[str]:
    with urllib.request.urlopen(f"{servers.api_origin}/api/plans/shizhu-2022", timeout=10) as r:
        return list(json.loads(r.read())["suggestions"])


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("desktop", {"width": 1280, "height": 800}),
        ("mobile", {"width": 375, "height": 667, "phone": True}),
    ],
)
def test_start_state_shows_every_chip(
    name: str, size: dict[str, Any], new_page: Any, servers: Any, screenshots_dir: Any
) -> None:
    expected = plan_suggestions(servers)[:4]
    assert len(expected) == 4, "the plan offers four starting questions"
    page = open_page(new_page, servers, **size)
    open_widget(page)
    page.locator("plan-assistant .suggest .chip").nth(3).wait_for(state="attached")
    chips = page.evaluate(CHIPS_JS)
    assert [c["text"] for c in chips] == expected
    for c in chips:
        assert c["inside"] and c["onTop"], c
    foot = page.locator("plan-assistant .foot").inner_text()
    if size.get("phone"):
        assert "Enter" not in foot and "回答依据方案原文" in foot  # no keyboard hint on a phone
    else:
        assert "Enter 发送" in foot
    page.screenshot(path=str(screenshots_dir / f"widget-start-{name}.png"))
    assert page.page_errors == []


def test_page_on_an_origin_that_is_not_allowed(new_page: Any, servers: Any) -> None:
    assert servers.blocked_origin and servers.blocked_origin not in servers.settings.cors_origins
    page = new_page(1280, 800)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{servers.blocked_origin}/index.html")
    page.get_by_role("button", name="打开政策助手").wait_for(state="visible")
    open_widget(page)
    alert = page.locator("plan-assistant .greeting [role=alert]")
    text = alert.inner_text()
    assert servers.blocked_origin in text and "ASSISTANT_CORS_ORIGINS" in text
    assert page.get_by_role("textbox", name="输入您的问题").is_disabled()
    assert page.locator("plan-assistant .suggest .chip").count() == 0
    assert any("ASSISTANT_CORS_ORIGINS" in m and servers.blocked_origin in m for m in console), (
        console
    )
    page.evaluate("PlanAssistant.ask('县商务委牵头哪些任务？')")  # a page button: nothing is sent
    page.wait_for_timeout(200)
    assert not [u for u in requests if "/api/" in u], requests
    # the same page on an allowed origin shows no such message
    ok = open_page(new_page, servers)
    open_widget(ok)
    assert ok.locator("plan-assistant .greeting [role=alert]").count() == 0


def test_export_button_downloads_the_list(new_page: Any, servers: Any) -> None:
    page = open_page(new_page, servers)
    open_widget(page)
    ask(page, "外资旅行社由谁牵头？")
    assert last_answer(page).get_by_role("button", name="导出清单").count() == 0  # not a list
    ask(page, "县商务委牵头哪些任务？")
    button = last_answer(page).get_by_role("button", name="导出清单")
    with page.expect_download() as dl:
        button.click()
    path = dl.value.path()
    assert dl.value.suggested_filename.endswith(".xlsx")
    rows = list(
        load_workbook(io.BytesIO(open(path, "rb").read()), read_only=True).active.iter_rows(
            values_only=True
        )
    )
    query = urllib.parse.urlencode({"unit": "县商务委", "plan": "shizhu-2022", "role": "lead"})
    with urllib.request.urlopen(f"{servers.api_origin}/api/tasks?{query}", timeout=10) as r:
        listed = json.loads(r.read())
    assert [int(row[1]) for row in rows[1:]] == [t["number"] for t in listed["tasks"]]
    assert page.locator("plan-assistant .actions .astatus").last.inner_text() == "已下载"
    assert page.page_errors == []
