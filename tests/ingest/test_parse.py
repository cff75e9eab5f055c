"""Parser: the gold file for the real plans, and purpose-written plans for each format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.ingest.loaders import load_source
from assistant.ingest.parse import parse_plan
from assistant.ingest.units import AliasTable

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
TABLE = AliasTable.load(ROOT / "corpus" / "aliases.toml")

pytestmark = pytest.mark.unit


def parse_file(path: Path):  # type: ignore[no-untyped-def]
    src = load_source(path)
    return src, parse_plan(
        src.plan, src.text, lambda n: TABLE.canonical(n, src.plan.region or None)
    )


def test_real_plans_reproduce_gold_exactly() -> None:
    gold = [
        json.loads(line)
        for line in (ROOT / "evals/gold/tasks.jsonl").read_text("utf-8").splitlines()
        if line
    ]
    assert len(gold) == 66
    got = {}
    for name in ("dianjiang-2021.txt", "shizhu-2022.txt"):
        _, result = parse_file(ROOT / "corpus" / name)
        assert not [i for i in result.issues if i.level == "error"]
        got.update({(t.plan_id, t.number): t for t in result.tasks})
    assert sorted(got) == sorted((g["plan_id"], g["number"]) for g in gold)
    for g in gold:
        t = got[(g["plan_id"], g["number"])]
        key = f"{g['plan_id']} #{g['number']}"
        assert t.text == g["text"], key
        assert set(t.lead) == set(g["lead"]), key
        assert set(t.responsible) == set(g["responsible"]), key
        assert t.lead_text == g["lead_text"] and t.responsible_text == g["responsible_text"], key
        assert t.heading == g["heading"], key


def test_layouts_of_real_plans() -> None:
    _, dj = parse_file(ROOT / "corpus/dianjiang-2021.txt")
    _, sz = parse_file(ROOT / "corpus/shizhu-2022.txt")
    assert (dj.layout, len(dj.tasks)) == ("inline", 11)  # names an annex it does not contain
    assert (sz.layout, len(sz.tasks)) == ("annex", 55)
    t = next(t for t in sz.tasks if t.number == 31)
    assert t.section_path == (
        "二、推动服务业扩大开放在重点平台和园区示范发展",
        "（六）支持商贸文旅融合发展",
    )


def test_pdf_broken_inline_plan() -> None:
    src, r = parse_file(FIX / "pdf_inline.txt")
    assert src.plan.doc_number == "某府发〔2023〕7号"  # inferred: no metadata file
    assert any("缺少元数据文件" in i.message for i in src.issues)
    assert r.layout == "inline"
    assert [t.number for t in r.tasks] == [1, 2, 3]
    t1, t2, t3 = r.tasks
    # nested brackets in the text, label split across lines, ASCII brackets
    assert (
        t1.text
        == "科技服务。按照《某某县科技成果转化办法(试行)》推动科技成果转化，支持外商投资研发中心。"
    )
    assert t1.lead == ("县科技局", "县市场监管局")
    assert t1.responsible == ("县财政局", "县卫生健康委")  # 县卫健委 canonicalised
    assert t2.lead == ("县经信委",) and t2.responsible == ()  # no 责任单位 part
    assert t3.lead == ("县教委",) and t3.responsible == ("县人力社保局", "各相关单位")
    assert t1.section_path == ("二、主要任务", "(一)重点领域")
    assert all("— 2 —" not in b.para.text for b in r.body)  # page furniture dropped
    goal = next(b for b in r.body if b.kind == "body" and "试点" in b.para.text)
    assert goal.para.text == "经过 2 年试点，形成可复制经验。"


def test_inline_peihe_form() -> None:
    _, r = parse_file(FIX / "inline_peihe.md")
    assert [(t.number, t.role_word, t.lead, t.responsible) for t in r.tasks] == [
        (1, "配合单位", ("区文化旅游委",), ("区商务委", "区市场监管局")),
        (2, "配合单位", ("区卫生健康委",), ("区商务委",)),
    ]


def test_annex_table_with_empty_cells_and_blank_line_in_row() -> None:
    _, r = parse_file(FIX / "annex_peihe.txt")
    assert r.layout == "annex"
    rows = [(t.number, t.text, t.lead, t.responsible, t.role_word) for t in r.tasks]
    assert rows == [
        (
            1,
            "支持外资旅行社开展业务。",
            ("县文化旅游委",),
            ("县商务委", "县市场监管局"),
            "配合单位",
        ),
        (2, "支持举办国际性演出。", ("县文化旅游委", "县体育运动中心"), ("县商务委",), "配合单位"),
        (3, "探索建立网站备案制度。", ("县公安局",), (), "配合单位"),
    ]
    assert r.tasks[0].heading == "旅游领域" and r.tasks[2].heading == "其他"
    assert r.tasks[0].section_path == ("一、扩大开放", "（一）旅游领域")


def test_malformed_plans_are_reported_with_line() -> None:
    _, r = parse_file(FIX / "no_lead.txt")
    assert len(r.tasks) == 1 and r.tasks[0].lead == ()
    assert any(i.level == "error" and "缺少牵头单位" in i.message and i.line == 5 for i in r.issues)
    _, r = parse_file(FIX / "no_tasks.txt")  # a plan without tasks is a warning (issue 11)
    assert r.tasks == [] and any(
        i.level == "warning" and "未识别出任何任务" in i.message for i in r.issues
    )


def test_docx_table_is_read_like_the_annex(tmp_path: Path) -> None:
    import docx

    doc = docx.Document()
    for line in ("某某县服务业开放试点实施方案", "一、总体要求", "做好工作。", "附件", "任务分工"):
        doc.add_paragraph(line)
    table = doc.add_table(rows=3, cols=4)
    cells = [
        ["序号", "试点任务", "牵头单位", "责任单位"],
        ["1", "支持外资旅行社开展业务。", "县文化旅游委", "县商务委"],
        ["2", "支持外资医疗机构。", "县卫生健康委", ""],
    ]
    for row, values in zip(table.rows, cells, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    path = tmp_path / "docx-plan.docx"
    doc.save(str(path))
    _, r = parse_file(path)
    assert [(t.number, t.lead, t.responsible) for t in r.tasks] == [
        (1, ("县文化旅游委",), ("县商务委",)),
        (2, ("县卫生健康委",), ()),
    ]


def test_unsupported_and_empty_files(tmp_path: Path) -> None:
    from assistant.ingest.loaders import PlanFormatError

    (tmp_path / "x.txt").write_text("   \n")
    with pytest.raises(PlanFormatError, match="文件为空"):
        load_source(tmp_path / "x.txt")
    (tmp_path / "y.pdf").write_bytes(b"not a pdf")
    with pytest.raises(PlanFormatError, match="PDF"):
        load_source(tmp_path / "y.pdf")


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    fonts = [f for f in font_manager.findSystemFonts() if "CJK" in f]
    return sorted(fonts)[0] if fonts else None


def test_text_pdf_plan_parses_like_its_text(tmp_path: Path) -> None:
    """A real text PDF (two pages, page numbers), made with matplotlib and a CJK font
    (fonts-noto-cjk, installed by scripts/ensure_chromium.sh), read back with pypdf."""
    font = _cjk_font()
    if font is None:
        pytest.skip("no CJK font installed")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    matplotlib.rcParams["pdf.fonttype"] = 42  # embed TrueType so the text is extractable
    lines = [ln for ln in (FIX / "pdf_inline.txt").read_text("utf-8").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("—")]
    fp = font_manager.FontProperties(fname=font)
    path = tmp_path / "plan.pdf"
    with PdfPages(path) as pdf:
        for page_no, start in enumerate(range(0, len(lines), 14), start=1):
            fig = plt.figure(figsize=(8.27, 11.69))
            for i, line in enumerate(lines[start : start + 14]):
                fig.text(0.1, 0.92 - i * 0.05, line, fontproperties=fp, fontsize=12)
            fig.text(0.45, 0.04, f"— {page_no} —", fontproperties=fp, fontsize=10)
            pdf.savefig(fig)
            plt.close(fig)
    _, from_pdf = parse_file(path)
    _, from_txt = parse_file(FIX / "pdf_inline.txt")
    assert [(t.number, t.text, t.lead, t.responsible) for t in from_pdf.tasks] == [
        (t.number, t.text, t.lead, t.responsible) for t in from_txt.tasks
    ]
