"""Duty lists as files: GET /api/tasks?format=xlsx|csv|md and `assistant tasks --format`,
checked against the hand-made gold (evals/gold/tasks.jsonl), row for row."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from assistant.evals.cases import GOLD_FILE, Gold, load_gold
from assistant.retrieval.duties import COLUMNS

from .conftest import PLAN_ID, IndexEnv

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gold() -> Gold:
    return load_gold(GOLD_FILE, ROOT / "corpus")


def gold_units(gold: Gold) -> list[str]:
    return sorted({u for t in gold.tasks.values() for u in [*t["lead"], *t["responsible"]]})


def xlsx_rows(content: bytes) -> list[list[object]]:
    ws = load_workbook(io.BytesIO(content), read_only=True).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


def as_gold_rows(rows: list[list[object]], gold: Gold) -> list[tuple[str, int, str, str]]:
    plan_of = {title: pid for pid, title in gold.plan_titles.items()}
    return [(plan_of[str(r[0])], int(str(r[1])), str(r[4] or ""), str(r[5] or "")) for r in rows]


def expected(gold: Gold, unit: str, plan: str | None, role: str) -> list[tuple[str, int, str, str]]:
    keys = sorted(gold.tasks_for_unit(unit, plan, role))
    return [
        (p, n, "、".join(gold.tasks[(p, n)]["lead"]), "、".join(gold.tasks[(p, n)]["responsible"]))
        for p, n in keys
    ]


def test_xlsx_holds_exactly_the_gold_rows_for_each_unit(client: httpx.Client, gold: Gold) -> None:
    units = gold_units(gold)
    assert len(units) > 20
    for unit in units:
        for plan, role in ((None, "any"), (PLAN_ID, "lead")):
            params = {
                "unit": unit,
                "role": role,
                "format": "xlsx",
                **({"plan": plan} if plan else {}),
            }
            r = client.get("/api/tasks", params=params)
            want = expected(gold, unit, plan, role)
            if not want and plan:
                continue  # the unit is not in that plan: a 404, tested elsewhere
            assert r.status_code == 200, (unit, r.text)
            assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
            assert "attachment" in r.headers["content-disposition"]
            rows = xlsx_rows(r.content)
            assert tuple(rows[0]) == COLUMNS
            assert as_gold_rows(rows[1:], gold) == want, (unit, plan, role)
            for row in rows[1:]:
                assert row[2] and row[7], row  # task text and source section are filled
                is_lead = unit in str(row[4]).split("、")
                assert (row[3] == "牵头单位") == is_lead, row


def test_csv_and_markdown_match_the_json_list(client: httpx.Client) -> None:
    params = {"unit": "商务委", "plan": PLAN_ID, "role": "lead"}
    listed = client.get("/api/tasks", params=params).json()
    numbers = [t["number"] for t in listed["tasks"]]
    assert numbers
    r = client.get("/api/tasks", params={**params, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    assert [int(x[1]) for x in rows[1:]] == numbers
    # the deadline column holds what the task record prints, and is empty where it has none
    assert [x[6] for x in rows[1:]] == [str(t.get("deadline") or "") for t in listed["tasks"]]
    md = client.get("/api/tasks", params={**params, "format": "md"}).text
    assert md.startswith("# ") and md.count("\n| ") == len(numbers) + 1


def test_bad_format_and_unknown_unit(client: httpx.Client) -> None:
    r = client.get("/api/tasks", params={"unit": "商务委", "format": "pdf"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"
    r = client.get("/api/tasks", params={"unit": "不存在的局", "format": "xlsx"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_unit"


def test_cli_tasks_format(index_env: IndexEnv, tmp_path: Path, gold: Gold) -> None:
    unit = "县商务委"
    out = tmp_path / "list.xlsx"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "tasks",
            "--unit",
            unit,
            "--format",
            "xlsx",
            "-o",
            str(out),
        ],
        env=index_env.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert as_gold_rows(xlsx_rows(out.read_bytes())[1:], gold) == expected(gold, unit, None, "any")
    md = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "tasks", "--unit", unit, "--format", "md"],
        env=index_env.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        md.returncode == 0 and md.stdout.count("\n| ") == len(expected(gold, unit, None, "any")) + 1
    )
