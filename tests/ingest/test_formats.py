"""Every task format of the genre, from fixtures written for it (tests/fixtures/formats/):
worded and plain unit notes, label lines, task tables of both shapes, numbering, deadlines,
collective units, encodings, .docx tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.index import parse_file
from assistant.ingest.loaders import PlanFormatError, decode_text, load_source
from assistant.ingest.units import AliasTable, is_collective, split_units

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "formats"
TABLE = AliasTable.load(ROOT / "corpus" / "aliases.toml")

pytestmark = pytest.mark.unit


def rows(name: str | Path):  # type: ignore[no-untyped-def]
    path = name if isinstance(name, Path) else FIX / name
    _, r = parse_file(path, TABLE)
    return r, [(t.number, t.lead, t.responsible, t.role_word, t.deadline) for t in r.tasks]


def errors(r) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{i.line}:{i.message}" for i in r.issues if i.level == "error"]


def test_worded_notes_lead_cooperate_and_share() -> None:
    r, got = rows("inline_worded.txt")
    assert r.layout == "inline" and not errors(r)
    assert got == [
        (1, ("市文化广电旅游局",), ("市商务局", "市市场监管局"), "配合单位", ""),
        (2, ("市卫生健康委",), ("市发展改革委", "市医保局"), "责任单位", ""),
        # 按职责分工负责 with no 牵头 and no first-listed rule: shared, no lead invented
        (3, (), ("市政务服务数据管理局", "市市场监管局"), "责任单位", ""),
        (4, ("人民银行青禾市分行", "市地方金融监管局"), (), "责任单位", "2023年6月底前"),
        (5, ("市人力资源社会保障局",), ("各区、县级市人民政府",), "配合单位", "2023年底前"),
        (6, ("市政务服务数据管理局",), (), "责任单位", ""),
    ]
    t2, t6 = r.tasks[1], r.tasks[5]
    assert t2.text.endswith("支持社会力量举办医疗机构（含中外合资）。")  # a bracket in the text
    assert "由企业自行负责" in t6.text  # a bracket that names no unit stays task text
    assert t2.quote().endswith("（市卫生健康委牵头，市发展改革委、市医保局等按职责分工负责）")
    assert t2.section_path == ("一、重点任务", "（一）放宽市场准入")


def test_plain_notes_follow_the_first_listed_rule_stated_once() -> None:
    r, got = rows("inline_first_lead.txt")
    assert not errors(r) and not [i for i in r.issues if "编号" in i.message]
    assert got == [
        (1, ("县商务局",), ("县交通运输局", "县邮政管理局"), "责任单位", ""),
        (2, ("县商务局",), ("县农业农村局",), "责任单位", ""),
        (3, ("县市场监管局",), (), "责任单位", "2022年底前"),
        (4, ("县自然资源局",), ("县商务局", "各乡镇"), "责任单位", ""),
    ]
    assert r.tasks[3].text == "规范商业网点布局。编制商业网点规划（2022—2025年）。"
    assert r.tasks[0].label == "1、"


def test_label_lines_after_each_task() -> None:
    r, got = rows("line_labels.txt")
    assert not errors(r)
    assert got == [
        (1, ("区投资促进中心",), ("区商务委", "区发展改革委"), "责任单位", "2023年12月底前"),
        # 责任单位：X（牵头）、Y
        (2, ("区商务委",), ("区财政局", "区税务局"), "责任单位", "持续推进"),
        (3, ("区口岸物流办",), ("区交通局", "各街道办事处"), "配合单位", "2023年6月底前"),
    ]
    t1 = r.tasks[0]
    assert t1.text.startswith("加大招商引资力度。") and (t1.line_start, t1.line_end) == (5, 8)
    assert "完成时限：2023年12月底前" in t1.quote()


def test_numbering_styles_and_items_that_start_with_digits() -> None:
    r, got = rows("numbering.txt")
    assert [n for n, *_ in got] == [9, 10, 11, 1, 2]  # the plan's own numbers; ① is 1
    t11 = r.tasks[2]
    assert t11.text.startswith("121人才梯队项目。") and t11.label == "11."
    assert t11.lead == ("区人力社保局",)
    assert all(t.number != 0 for t in r.tasks)


def test_repeated_numbers_are_numbered_in_order_with_a_warning(tmp_path: Path) -> None:
    text = (
        "某某区试点方案\n一、开放\n1. 甲任务。（区商务委牵头）\n2. 乙任务。（区财政局牵头）\n"
        "二、保障\n1. 丙任务。（区税务局牵头）\n"
    )
    (tmp_path / "p.txt").write_text(text, "utf-8")
    r, got = rows(tmp_path / "p.txt")
    assert [(n, lead) for n, lead, *_ in got] == [
        (1, ("区商务委",)),
        (2, ("区财政局",)),
        (3, ("区税务局",)),
    ]
    assert [t.label for t in r.tasks] == ["1.", "2.", "1."]
    assert any("按出现顺序" in i.message and i.level == "warning" for i in r.issues)


def test_cell_table_spaced_split_headers_spanning_and_empty_cells() -> None:
    r, got = rows("table_cells.txt")
    assert r.layout == "annex" and not errors(r)
    assert got == [
        (1, ("县科技局",), ("县财政局", "县商务委"), "配合单位", "2023年底前"),
        (2, ("县科技局",), ("县市场监管局",), "配合单位", "2024年6月底前"),
        (3, ("县卫生健康委",), (), "配合单位", "持续推进"),
        (
            4,
            ("县市场监管局", "县政务服务中心"),
            ("各乡镇人民政府、街道办事处",),
            "配合单位",
            "2023年6月底前",
        ),
    ]
    t2 = r.tasks[1]
    assert t2.text == "推动科技成果转化，建设成果转化服务平台，引进第三方技术转移机构。"
    assert t2.heading == "科技服务"  # the merged 重点任务 cell of the row above
    assert r.tasks[3].section_path == ("二、优化环境",)


def test_markdown_row_table_with_department_columns() -> None:
    r, got = rows("table_rows.md")
    assert r.layout == "annex" and not errors(r)
    assert got == [
        (1, ("区市场监管局",), ("区政务服务中心", "区司法局"), "责任部门", "2023年底前"),
        (2, ("区住房城乡建委",), ("区规划自然资源局", "区生态环境局"), "责任部门", "2023年9月底前"),
        (3, ("区发展改革委",), (), "责任部门", "长期坚持"),
    ]


def test_a_row_missing_a_cell_is_an_error_naming_its_line_not_a_shift() -> None:
    r, got = rows("table_missing_cell.txt")
    errs = errors(r)
    assert len(errs) == 1 and errs[0].startswith("15:") and "无法判断哪一列为空" in errs[0]
    assert [n for n, *_ in got] == [1, 3]  # row 2 is not guessed into place


def test_row_with_a_sentence_in_the_lead_column_is_an_error(tmp_path: Path) -> None:
    lines = ["某某县方案", "附件", "\t序号", "\t试点任务", "\t牵头单位", "\t责任单位", ""]
    lines += ["\t1", "\t县商务委", "\t支持外资企业发展。", "\t县财政局", ""]
    (tmp_path / "shift.txt").write_text("\n".join(lines), "utf-8")
    r, _ = rows(tmp_path / "shift.txt")
    assert any(e.startswith("8:") and "错列" in e for e in errors(r))


def test_empty_lead_cell_is_an_error(tmp_path: Path) -> None:
    lines = ["某某县方案", "附件", "\t序号", "\t试点任务", "\t牵头单位", "\t责任单位", ""]
    lines += ["\t1", "\t支持外资企业发展。", "\t", "\t县财政局", ""]
    (tmp_path / "nolead.txt").write_text("\n".join(lines), "utf-8")
    r, got = rows(tmp_path / "nolead.txt")
    assert got == [(1, (), ("县财政局",), "责任单位", "")]
    assert any(e.startswith("8:") and "缺少牵头单位" in e for e in errors(r))


def test_collective_units_are_recognised_at_any_level() -> None:
    assert split_units("市人力资源社会保障局、各区、县级市人民政府") == [
        ("市人力资源社会保障局", None),
        ("各区、县级市人民政府", None),
    ]
    for name in (
        "各区、县级市",
        "县级各部门",
        "区政府各部门",
        "市直有关单位",
        "省级有关部门",
        "各乡镇（街道）",
        "其他相关单位",
        "各有关单位",
        "领导小组成员单位",
    ):
        assert is_collective(name), name
    for name in ("县级市场监管局", "市商务局", "区县联络办"):
        assert not is_collective(name), name


def test_encodings_utf8_bom_gbk_never_mojibake(tmp_path: Path) -> None:
    text = (FIX / "inline_first_lead.txt").read_text("utf-8")
    want = [
        (t.number, t.lead, t.responsible)
        for t in parse_file(FIX / "inline_first_lead.txt", TABLE)[1].tasks
    ]
    for enc in ("utf-8-sig", "gb18030", "gbk"):
        path = tmp_path / enc / "plan.txt"
        path.parent.mkdir()
        path.write_bytes(text.encode(enc))
        src, r = parse_file(path, TABLE)
        assert src.text.replace("\r", "") == text and src.plan.region == "桐川县", enc
        assert [(t.number, t.lead, t.responsible) for t in r.tasks] == want, enc
    with pytest.raises(PlanFormatError, match="编码"):
        decode_text(bytes(range(0x80, 0x100)) * 4, "garbled.txt")


def test_bad_metadata_is_an_error_naming_the_file(tmp_path: Path) -> None:
    plan = tmp_path / "p.txt"
    plan.write_text("某某县方案\n一、任务\n1. 甲。（县商务委牵头）\n", "utf-8")
    meta = tmp_path / "p.toml"
    cases = [
        ('title = "某某县方案"'.encode("gbk"), "p.toml.*UTF-8"),
        (b'id = "../../x"', "p.toml.*方案编号"),
        (b"title = 3", "p.toml.*title.*字符串"),
        (b'issued = "2023-13-45"', "p.toml.*issued"),
        (b'title = "x', "p.toml.*格式错误"),
    ]
    for raw, pattern in cases:
        meta.write_bytes(raw)
        with pytest.raises(PlanFormatError, match=pattern):
            load_source(plan)
    meta.write_bytes(b'issued = 2023-05-06\nid = "p-2023"')  # a TOML date is fine
    assert load_source(plan).plan.issued == "2023-05-06"
    meta.unlink()
    (tmp_path / "方案.txt").write_text(plan.read_text("utf-8"), "utf-8")
    with pytest.raises(PlanFormatError, match=r"方案\.txt.*id"):  # the stem is no safe id
        load_source(tmp_path / "方案.txt")


def test_docx_table_with_deadline_column_and_merged_cells(tmp_path: Path) -> None:
    import docx

    doc = docx.Document()
    for line in ("某某区营商环境改革实施方案", "一、总体要求", "持续优化营商环境。", "附件"):
        doc.add_paragraph(line)
    cells = [
        ["序号", "重点任务", "具体措施", "牵头单位", "配合单位", "完成时限"],
        [
            "1",
            "市场准入",
            "推行市场准入承诺即入制。",
            "区市场监管局",
            "区政务服务中心",
            "2023年底前",
        ],
        ["2", "市场准入", "开展企业迁移登记便利化改革。", "区市场监管局", "", "2023年6月底前"],
        [
            "3",
            "要素保障",
            "完善中小企业融资担保体系。",
            "区财政局、区金融服务中心",
            "各街道办事处",
            "持续推进",
        ],
    ]
    table = doc.add_table(rows=len(cells), cols=len(cells[0]))
    for row, values in zip(table.rows, cells, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    table.cell(1, 1).merge(table.cell(2, 1))  # the 重点任务 cell spans two rows
    table.cell(1, 1).text = "市场准入"
    path = tmp_path / "docx-plan.docx"
    doc.save(str(path))
    r, got = rows(path)
    assert not errors(r)
    assert got == [
        (1, ("区市场监管局",), ("区政务服务中心",), "配合单位", "2023年底前"),
        (2, ("区市场监管局",), (), "配合单位", "2023年6月底前"),
        (3, ("区财政局", "区金融服务中心"), ("各街道办事处",), "配合单位", "持续推进"),
    ]
    assert [t.heading for t in r.tasks] == ["市场准入", "市场准入", "要素保障"]


def test_text_pdf_task_table(tmp_path: Path) -> None:
    """A table in a real text PDF (matplotlib + a CJK font, read back with pypdf): rows come out
    one per line with single spaces; a row whose empty cell left no trace is an error, not a
    guess."""
    from matplotlib import font_manager

    fonts = sorted(f for f in font_manager.findSystemFonts() if "CJK" in f)
    if not fonts:
        pytest.skip("no CJK font installed")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    matplotlib.rcParams["pdf.fonttype"] = 42
    fp = font_manager.FontProperties(fname=fonts[0])
    table = [
        ["序号", "重点任务", "牵头单位", "配合单位", "完成时限"],
        ["1", "支持外资研发中心发展。", "县科技局", "县财政局、县商务委", "2023年底前"],
        ["2", "推行企业开办一日办结。", "县市场监管局", "县政务服务中心", "2023年6月底前"],
        ["3", "完善中小企业融资担保。", "县财政局", "", "持续推进"],
    ]
    path = tmp_path / "table.pdf"
    with PdfPages(path) as pdf:
        fig = plt.figure(figsize=(11.69, 8.27))
        for y, line in ((0.95, "某某县服务业开放试点方案"), (0.9, "附件")):
            fig.text(0.05, y, line, fontproperties=fp, fontsize=12)
        for r, row in enumerate(table):
            for x, cell in zip((0.05, 0.12, 0.45, 0.62, 0.85), row, strict=True):
                if cell:
                    fig.text(x, 0.85 - r * 0.05, cell, fontproperties=fp, fontsize=11)
        pdf.savefig(fig)
        plt.close(fig)
    r, got = rows(path)
    assert got == [
        (1, ("县科技局",), ("县财政局", "县商务委"), "配合单位", "2023年底前"),
        (2, ("县市场监管局",), ("县政务服务中心",), "配合单位", "2023年6月底前"),
    ]
    errs = errors(r)
    assert len(errs) == 1 and "表格第3行" in errs[0]
