"""A tour of the widget as a user meets it: start the server, open /demo in headless
chromium, ask a conversation (greeting, lists, a topic, a comparison, English, topic
switches, a follow-up, a suggestion chip, thanks), save a screenshot of each answer and
a transcript of everything the widget showed.

    .venv/bin/python scripts/tour.py --out /tmp/tour          # look at /tmp/tour/*.png
    .venv/bin/python scripts/tour.py --out docs/screenshots --only list,topic,compare,english

Needs the index (`make ingest`) and Debian's chromium (scripts/ensure_chromium.sh).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# (name, question or "chip:N" for the N-th suggestion chip of the last answer, lang)
TOUR = [
    ("greeting", "你好呀", "zh"),
    ("list", "县卫生健康委牵头哪些任务？", "zh"),
    ("followup", "其中哪些和医保有关？", "zh"),
    ("topic", "金融领域有哪些开放措施？", "zh"),
    ("switch", "石柱第18项由谁牵头？", "zh"),
    ("chip", "chip:0", "zh"),
    ("compare", "垫江和石柱在人才方面的措施有什么不同？", "zh"),
    ("facts", "垫江方案的工作原则是哪几条？", "zh"),
    ("applies", "我是香港医生，想在石柱开一家诊所，找哪个部门？", "zh"),
    ("ellipsis", "那垫江呢？", "zh"),
    ("notcovered", "石柱的公租房怎么申请？", "zh"),
    ("thanks", "好的，谢谢！", "zh"),
    ("english", "Which measures concern healthcare in Shizhu?", "en"),
]

CHIPS = ".suggest .chip, .chip"
STATE_JS = """() => {
  const r = document.querySelector('plan-assistant').shadowRoot;
  return {answers: r.querySelectorAll('.answer').length,
          streaming: r.querySelectorAll('.answer.streaming, .loading').length};
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout_s: float = 120) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server at {url} not ready in {timeout_s:g}s")


def wait_answers(page, n: int, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        s = page.evaluate(STATE_JS)
        if s["answers"] >= n and not s["streaming"]:
            return
        page.wait_for_timeout(100)
    raise SystemExit(f"no answer #{n} within {timeout_s:g}s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/tour")
    ap.add_argument("--only", default="", help="comma-separated step names to screenshot")
    ap.add_argument("--script", default="",
                    help="a file of steps instead of the built-in tour: one 'name<TAB>question<TAB>lang' per line")
    args = ap.parse_args()
    tour = TOUR
    if args.script:
        tour = [tuple(line.split("\t")) for line in Path(args.script).read_text("utf-8").splitlines()
                if line.strip() and not line.startswith("#")]  # type: ignore[misc]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = set(filter(None, args.only.split(",")))

    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ASSISTANT_PORT": str(port), "ASSISTANT_RATE_LIMIT_BURST": "1000"}
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    transcript: list[str] = []
    try:
        wait_ready(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            for lang in ("zh", "en"):
                steps = [s for s in tour if s[2] == lang]
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{url}/demo?plan=all" + ("&lang=en" if lang == "en" else ""))
                page.wait_for_function("window.PlanAssistant !== undefined")
                page.locator("plan-assistant button.launcher").click()
                n = 0
                for name, question, _ in steps:
                    root = page.locator("plan-assistant")
                    if question.startswith("chip:"):
                        idx = int(question[5:])
                        chips = root.locator(CHIPS)
                        question = chips.nth(idx).inner_text()
                        chips.nth(idx).click()
                    else:
                        box = root.locator("textarea")
                        box.fill(question)
                        box.press("Enter")
                    n += 1
                    wait_answers(page, n)
                    text = root.locator(".answer").last.inner_text()
                    transcript.append(f"## {name}: {question}\n{text}\n")
                    if not only or name in only:
                        # the answer's first lines (summary, count), as a reader starts
                        root.locator(".answer").last.evaluate("e => e.scrollIntoView({block: 'start'})")
                        page.screenshot(path=str(out / f"answer-{name}.png"))
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    (out / "transcript.md").write_text("\n".join(transcript), "utf-8")
    print(f"{len(transcript)} answers; screenshots and transcript.md in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
