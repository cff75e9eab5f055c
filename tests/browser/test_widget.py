"""The embeddable widget in real headless chromium, against the real app.

The host page lives on a different origin than the API (see conftest.py). Playwright's
CSS and role locators pierce open shadow roots, so `plan-assistant .answer` reaches
inside the widget. Nothing here calls the widget's internals: the tests click, type
and read the DOM like a user (or a screen reader) would.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

Servers = Any  # conftest.Servers: api_origin, host_origin, data_dir, settings, page_url()
PLAN_ID = "shizhu-2022"

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

QUESTION = "外资旅行社由谁牵头"
FOLLOW_UP = "那责任单位呢？"
XSS = "<img src=x onerror=alert(1)>"
ACCENT = "rgb(180, 35, 42)"  # the default --pa-accent, #b4232a

SHADOW = "document.querySelector('plan-assistant').shadowRoot"

# A snapshot of the widget's state, read from its shadow DOM.
STATE_JS = """() => {
  const host = document.querySelector('plan-assistant');
  if (!host || !host.shadowRoot) return null;
  const r = host.shadowRoot;
  const err = r.querySelector('.msg.error');
  return {
    answers: r.querySelectorAll('.answer').length,
    streaming: r.querySelectorAll('.answer.streaming').length,
    loading: r.querySelectorAll('.loading').length,
    error: err ? err.textContent : null,
    busy: r.querySelector('.send').disabled,
    open: !r.querySelector('.panel').hidden,
  };
}"""


def feedback_rows(data_dir: Path, message_id: str) -> list[dict[str, Any]]:
    """Rows of the server's feedback table (assistant/feedback.py: data_dir/assistant.sqlite3)."""
    path = data_dir / "assistant.sqlite3"
    if not path.exists():
        return []
    con = sqlite3.connect(str(path), timeout=5)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute("SELECT * FROM feedback WHERE message_id = ?", (message_id,)).fetchall()
    finally:
        con.close()
    return [dict(r) for r in rows]


def admin_get(servers: Servers, path: str) -> Any:
    req = urllib.request.Request(
        servers.api_origin + path,
        headers={"Authorization": f"Bearer {servers.settings.admin_token}"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read().decode("utf-8"))


def sse_events(body: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a text/event-stream body (as the server sent it)."""
    out = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            out.append((event, json.loads("\n".join(data))))
    return out


def state(page: Any) -> dict[str, Any]:
    return page.evaluate(STATE_JS)


def wait_for_answers(page: Any, count: int, timeout_s: float = 60) -> None:
    """Wait until `count` answers are complete (or fail fast on an error bubble)."""
    deadline = time.monotonic() + timeout_s
    while True:
        s = state(page)
        if s and s["error"]:
            pytest.fail(f"the widget shows an error: {s['error']}")
        idle = s and not (s["streaming"] or s["loading"] or s["busy"])
        if idle and s["answers"] >= count:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"no complete answer #{count} within {timeout_s}s: {s}")
        page.wait_for_timeout(50)


def open_page(new_page: Any, servers: Servers, name: str = "index.html", **size: int) -> Any:
    page = new_page(**size)
    page.goto(servers.page_url(name))
    page.get_by_role("button", name="打开政策助手").wait_for(state="visible")
    return page


def open_widget(page: Any) -> None:
    page.get_by_role("button", name="打开政策助手").click()
    page.get_by_role("dialog", name="政策助手").wait_for(state="visible")


def ask(page: Any, text: str) -> None:
    n = state(page)["answers"]
    box = page.get_by_role("textbox", name="输入您的问题")
    box.fill(text)
    box.press("Enter")
    wait_for_answers(page, n + 1)


def last_answer(page: Any) -> Any:
    return page.locator("plan-assistant .answer").last


def record_streaming(page: Any) -> None:
    """Observe (not drive) the shadow DOM: log the last answer's text on each mutation."""
    page.evaluate(
        f"""() => {{
      const root = {SHADOW};
      window.__paFrames = [];
      new MutationObserver(() => {{
        const all = root.querySelectorAll('.answer');
        const a = all[all.length - 1];
        if (a) window.__paFrames.push({{
          streaming: a.classList.contains('streaming'),
          text: a.querySelector('.text').textContent,
        }});
      }}).observe(root, {{subtree: true, childList: true, characterData: true, attributes: true}});
    }}"""
    )


def shadow_focus(page: Any) -> dict[str, Any] | None:
    """What has keyboard focus inside the widget (None when focus is outside it)."""
    return page.evaluate(
        """() => {
      const host = document.querySelector('plan-assistant');
      if (document.activeElement !== host) return null;
      const el = host.shadowRoot.activeElement;
      if (!el) return null;
      const cs = getComputedStyle(el);
      return {
        tag: el.tagName.toLowerCase(),
        cls: el.className || '',
        label: el.getAttribute('aria-label') || '',
        text: (el.textContent || '').trim().slice(0, 40),
        expanded: el.getAttribute('aria-expanded'),
        outline: cs.outlineStyle + ' ' + cs.outlineWidth,
      };
    }"""
    )


# ---------------------------------------------------------------------------


def test_cross_origin_embed_streams_cites_and_follows_up(
    new_page: Any, servers: Servers, screenshots_dir: Any
) -> None:
    page = new_page(1280, 800)
    page.add_init_script("window.__paBefore = Object.getOwnPropertyNames(window);")
    page.goto(servers.page_url())
    launcher = page.get_by_role("button", name="打开政策助手")
    launcher.wait_for(state="visible")

    # embedded cross-origin, and PlanAssistant is the only global it adds
    assert page.evaluate("location.origin") == servers.host_origin != servers.api_origin
    added = page.evaluate(
        "Object.getOwnPropertyNames(window).filter(n => !window.__paBefore.includes(n))"
    )
    assert sorted(set(added) - {"__paBefore"}) == ["PlanAssistant"]
    assert page.evaluate(
        "['open','close','ask'].every(k => typeof window.PlanAssistant[k] === 'function')"
    )
    assert page.evaluate(f"{SHADOW} instanceof ShadowRoot")

    open_widget(page)
    chips = page.locator("plan-assistant .suggest .chip")
    chips.first.wait_for(state="visible")
    assert chips.count() >= 1

    record_streaming(page)
    with page.expect_request("**/api/chat/stream") as first_req:
        box = page.get_by_role("textbox", name="输入您的问题")
        box.fill(QUESTION)
        box.press("Enter")
    wait_for_answers(page, 1)
    body = json.loads(first_req.value.post_data or "{}")
    assert body["messages"] == [{"role": "user", "content": QUESTION}]
    assert body.get("plan_id") == PLAN_ID

    # streamed: partial text was on screen (marked as streaming) before the answer completed
    frames = page.evaluate("window.__paFrames")
    answer = last_answer(page)
    final_text = answer.locator(".text").inner_text()
    assert final_text.strip()
    partial = [f for f in frames if f["streaming"] and f["text"]]
    assert partial, f"no streaming frame observed: {frames[:5]}"
    assert final_text.startswith(partial[0]["text"][:5])
    assert "streaming" not in (answer.get_attribute("class") or "")

    # the answer's log region is announced politely
    log = page.get_by_role("log")
    assert log.get_attribute("aria-live") == "polite"

    # citation chip [1] expands its source: quote + 牵头单位
    chip = answer.locator(".cite").first
    assert chip.inner_text() == "[1]"
    assert chip.get_attribute("aria-expanded") == "false"
    chip.click()
    assert chip.get_attribute("aria-expanded") == "true"
    source = page.locator(f"plan-assistant #{chip.get_attribute('aria-controls')}")
    source.wait_for(state="visible")
    source_text = source.inner_text()
    assert "牵头单位" in source_text
    assert "县文化旅游委" in source_text
    assert source.locator(".quote").inner_text().strip()
    assert "旅行社" in source_text
    page.screenshot(path=str(screenshots_dir / "widget-desktop.png"))

    # follow-up in the same conversation: the whole history goes to the server
    with page.expect_response("**/api/chat/stream") as second:
        box.fill(FOLLOW_UP)
        box.press("Enter")
    wait_for_answers(page, 2)
    messages = json.loads(second.value.request.post_data or "{}")["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] == QUESTION
    assert messages[1]["content"].strip()
    assert messages[2]["content"] == FOLLOW_UP
    assert last_answer(page).locator(".text").inner_text().strip()
    # the suggestions of the latest answer are offered as chips
    events = sse_events(second.value.text())
    names = [e for e, _ in events]
    assert names[0] == "meta" and "delta" in names and names[-1] == "done", names
    done = events[-1][1]
    assert last_answer(page).get_attribute("data-message-id") == done["message_id"]
    chip_texts = page.locator("plan-assistant .suggest .chip").all_inner_texts()
    assert chip_texts == done["suggestions"][:4]
    assert page.dialogs == [] and page.page_errors == []


def test_thumbs_up_reaches_the_database(new_page: Any, servers: Servers) -> None:
    page = open_page(new_page, servers)
    open_widget(page)
    ask(page, QUESTION)
    answer = last_answer(page)
    message_id = answer.get_attribute("data-message-id")
    assert message_id, "the done event carries a message_id"

    with page.expect_response(
        lambda r: r.url.endswith("/api/feedback") and r.request.method == "POST"
    ) as resp:
        answer.get_by_role("button", name="有用", exact=True).click()
    assert resp.value.status == 200
    assert json.loads(resp.value.request.post_data or "{}") == {
        "message_id": message_id,
        "rating": "up",
    }
    assert resp.value.json().get("ok") is True
    thumbs_up = answer.get_by_role("button", name="有用", exact=True)
    assert thumbs_up.get_attribute("aria-pressed") == "true"

    # the server commits before it answers {"ok": true}: the row is in SQLite now
    rows = feedback_rows(servers.data_dir, message_id)
    assert [r["rating"] for r in rows] == ["up"], rows
    # and the admin read-back agrees, with the logged conversation for that answer
    record = admin_get(servers, f"/api/feedback/{message_id}")
    assert [f["rating"] for f in record["feedback"]] == ["up"]
    assert record["conversation"]["messages"][-1]["content"] == QUESTION


def test_markup_from_user_or_server_is_inert(new_page: Any, servers: Servers) -> None:
    page = open_page(new_page, servers)
    open_widget(page)
    ask(page, XSS)
    page.wait_for_timeout(500)  # give any onerror handler a chance to fire

    assert page.evaluate(f"{SHADOW}.querySelectorAll('img, script, iframe, a').length") == 0
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.dialogs == [] and page.page_errors == []
    # the question is shown literally, as text
    user_bubble = page.locator("plan-assistant .msg.user .bubble").last
    assert user_bubble.inner_text() == XSS
    answer = last_answer(page)
    assert answer.get_attribute("data-status") in {"answered", "not_covered", "out_of_scope"}
    text = answer.locator(".text").inner_text()
    assert text.strip()
    if "<img" in text:  # the server echoed the question: still only text
        assert XSS in text


def test_host_page_css_does_not_leak_into_the_widget(new_page: Any, servers: Servers) -> None:
    props = [
        "font-size", "font-family", "color", "line-height", "letter-spacing", "box-sizing",
        "background-color", "border-top-style", "border-top-width", "border-top-color",
        "padding-top", "padding-left", "width", "height", "border-radius", "display",
        "position", "z-index", "text-align", "font-weight", "cursor",
    ]  # fmt: skip
    selectors = [".root", ".panel", ".head", ".title", ".new", ".close", ".input", ".send",
                 ".chip", ".foot", ".greeting .bubble"]  # fmt: skip
    read = f"""([props, selectors]) => {{
      const r = {SHADOW};
      const out = {{}};
      for (const sel of ['.launcher', ...selectors]) {{
        const el = r.querySelector(sel);
        if (!el) {{ out[sel] = null; continue; }}
        const cs = getComputedStyle(el);
        out[sel] = Object.fromEntries(props.map(p => [p, cs.getPropertyValue(p)]));
      }}
      return out;
    }}"""

    def snapshot(name: str) -> tuple[dict[str, Any], dict[str, Any], Any]:
        page = open_page(new_page, servers, name, width=1280, height=720)
        closed = page.evaluate(read, [props, []])
        open_widget(page)
        page.locator("plan-assistant .chip").first.wait_for(state="visible")
        opened = page.evaluate(read, [props, selectors])
        return closed, opened, page

    base_closed, base_open, _ = snapshot("plain.html")
    hostile_closed, hostile_open, page = snapshot("index.html")
    # the demo page really is hostile: its own text is 22px red
    assert page.evaluate("getComputedStyle(document.querySelector('main p')).fontSize") == "22px"

    for snap in (base_open, hostile_open):  # the root box spans the host page's body
        del snap[".root"]["width"], snap[".root"]["height"]
    assert hostile_closed[".launcher"] == base_closed[".launcher"]
    for sel in selectors:
        assert hostile_open[sel] is not None, sel
        assert hostile_open[sel] == base_open[sel], sel

    launcher = hostile_closed[".launcher"]
    assert launcher["width"] == launcher["height"] == "60px"
    assert launcher["background-color"] == ACCENT
    assert launcher["position"] == "fixed"
    assert int(launcher["z-index"]) > 2147483000
    root, panel, send, box = (hostile_open[s] for s in (".root", ".panel", ".send", ".input"))
    assert root["font-size"] == "14px" and root["color"] == "rgb(31, 35, 40)"
    assert panel["box-sizing"] == "border-box" and panel["width"] == "380px"
    assert send["background-color"] == ACCENT and send["color"] == "rgb(255, 255, 255)"
    assert box["border-top-style"] == "solid" and box["background-color"] == "rgb(255, 255, 255)"
    assert hostile_open[".title"]["font-size"] == "16px"

    # above the page's own z-index 2147483000 fixed header: the panel's title is on top
    title = page.locator("plan-assistant .title").bounding_box()
    assert title is not None
    top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).tagName",
        [title["x"] + 10, title["y"] + title["height"] / 2],
    )
    assert top == "PLAN-ASSISTANT"


def test_keyboard_only(new_page: Any, servers: Servers) -> None:
    page = open_page(new_page, servers)
    # Tab from the top of the page to the launcher
    for _ in range(60):
        page.keyboard.press("Tab")
        f = shadow_focus(page)
        if f and f["label"] == "打开政策助手":
            break
    else:
        pytest.fail("the launcher is not reachable with Tab")
    assert f["outline"].startswith("solid"), f"no visible focus outline: {f}"

    page.keyboard.press("Enter")
    page.get_by_role("dialog", name="政策助手").wait_for(state="visible")
    assert (shadow_focus(page) or {}).get("label") == "输入您的问题"

    page.keyboard.type("外资旅行社")
    page.keyboard.press("Shift+Enter")  # newline, not send
    assert state(page)["answers"] == 0
    page.keyboard.press("Backspace")
    page.keyboard.type("由谁牵头")
    page.keyboard.press("Enter")
    wait_for_answers(page, 1)
    sent = page.locator("plan-assistant .msg.user .bubble").last.inner_text()
    assert sent == QUESTION

    # walk backwards through the panel; every control is reachable, citations open with Enter
    seen: list[dict[str, Any]] = []
    opened_citation = False
    page.get_by_role("textbox", name="输入您的问题").focus()
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        f = shadow_focus(page)
        assert f is not None, f"focus left the widget early; seen: {seen}"
        seen.append(f)
        assert f["outline"].startswith("solid"), f"no visible focus outline on {f}"
        if "cite" in f["cls"].split() and not opened_citation:
            page.keyboard.press("Enter")
            assert (shadow_focus(page) or {}).get("expanded") == "true"
            opened_citation = True
        if f["text"] == "新对话":
            break
    names = {f["label"] for f in seen} | {f["text"] for f in seen}
    assert {"新对话", "关闭", "有用", "没用", "复制", "[1]"} <= names, names
    assert opened_citation
    assert any("chip" in f["cls"].split() for f in seen), "suggested questions not reachable"

    # Esc closes the panel and returns focus to the launcher
    page.keyboard.press("Escape")
    page.get_by_role("dialog", name="政策助手").wait_for(state="hidden")
    assert (shadow_focus(page) or {}).get("label") == "打开政策助手"


def test_mobile_panel_is_full_screen(new_page: Any, servers: Servers, screenshots_dir: Any) -> None:
    page = open_page(new_page, servers, width=375, height=667, phone=True)
    open_widget(page)
    box = page.get_by_role("dialog", name="政策助手").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 375, "height": 667}
    # it covers the host page's fixed header too
    assert page.evaluate("document.elementFromPoint(187, 20).tagName") == "PLAN-ASSISTANT"
    ask(page, QUESTION)
    last_answer(page).locator(".cite").first.click()
    page.locator("plan-assistant .source").first.wait_for(state="visible")
    page.screenshot(path=str(screenshots_dir / "widget-mobile.png"))
    # the close button works and brings the launcher back
    page.get_by_role("button", name="关闭").click()
    page.get_by_role("button", name="打开政策助手").wait_for(state="visible")


def test_history_survives_reload_and_new_conversation_clears_it(
    new_page: Any, servers: Servers
) -> None:
    page = open_page(new_page, servers)
    open_widget(page)
    ask(page, QUESTION)
    answer_text = last_answer(page).locator(".text").inner_text()

    page.reload()
    open_widget(page)
    assert page.locator("plan-assistant .msg.user .bubble").all_inner_texts() == [QUESTION]
    assert last_answer(page).locator(".text").inner_text() == answer_text
    assert last_answer(page).locator(".cite").count() >= 1

    # the restored history is sent with the next question
    with page.expect_request("**/api/chat/stream") as req:
        ask(page, FOLLOW_UP)
    roles = [m["role"] for m in json.loads(req.value.post_data or "{}")["messages"]]
    assert roles == ["user", "assistant", "user"]

    page.get_by_role("button", name="新对话").click()
    assert state(page)["answers"] == 0
    assert page.locator("plan-assistant .msg.user").count() == 0
    stored = page.evaluate(
        "Object.keys(sessionStorage).filter(k => k.startsWith('plan-assistant:'))"
    )
    assert stored == []
    page.reload()
    open_widget(page)
    assert state(page)["answers"] == 0


def test_network_error_and_rate_limit_states(new_page: Any, servers: Servers) -> None:
    page = open_page(new_page, servers)
    open_widget(page)
    box = page.get_by_role("textbox", name="输入您的问题")

    # the connection fails: an error with 重试, which then reaches the real server
    page.route("**/api/chat/stream", lambda route: route.abort("connectionrefused"))
    box.fill(QUESTION)
    box.press("Enter")
    error = page.locator("plan-assistant .msg.error")
    error.wait_for(state="visible")
    assert "网络" in error.inner_text()
    page.unroute("**/api/chat/stream")
    error.get_by_role("button", name="重试").click()
    wait_for_answers(page, 1)

    # HTTP 429 with Retry-After: the rate-limit message, retry disabled for a while
    page.route(
        "**/api/chat/stream",
        lambda route: route.fulfill(
            status=429,
            headers={
                "Content-Type": "application/json",
                "Retry-After": "30",
                "Access-Control-Allow-Origin": servers.host_origin,
                "Access-Control-Expose-Headers": "Retry-After",
            },
            body=json.dumps({"error": "rate_limited", "message": "请求过于频繁"}),
        ),
    )
    box.fill(FOLLOW_UP)
    box.press("Enter")
    error.wait_for(state="visible")
    assert "请求过于频繁，请稍后再试" in error.inner_text()
    assert "30" in error.inner_text()
    assert error.get_by_role("button").is_disabled()
    page.unroute("**/api/chat/stream")


def test_data_attributes_and_js_api(new_page: Any, servers: Servers) -> None:
    """data-title / greeting / accent / position / open / plan, and PlanAssistant.open/close/ask."""
    page = new_page(width=1280, height=800)
    page.goto(servers.page_url("configured.html"))
    dialog = page.get_by_role("dialog", name="垫江政策助手")
    dialog.wait_for(state="visible")  # data-open="true": open without a click
    assert "您好，这里是垫江县政策助手。" in page.locator("plan-assistant .greeting").inner_text()
    accent = page.evaluate(
        f"() => getComputedStyle({SHADOW}.querySelector('.send')).backgroundColor"
    )
    assert accent == "rgb(0, 102, 68)"
    box = page.locator("plan-assistant .panel").bounding_box()
    assert box is not None and box["x"] < 100  # data-position="left"
    page.evaluate("() => window.PlanAssistant.close()")
    dialog.wait_for(state="hidden")
    page.evaluate("() => window.PlanAssistant.open()")
    dialog.wait_for(state="visible")
    n = state(page)["answers"]
    page.evaluate("() => window.PlanAssistant.ask('人行牵头哪些任务？')")
    wait_for_answers(page, n + 1)
    text = last_answer(page).locator(".text").inner_text()
    # data-plan="dianjiang-2021" scopes the question: 人行 is 垫江's branch here
    assert "人行垫江县支行" in text and "人行丰都支行" not in text
