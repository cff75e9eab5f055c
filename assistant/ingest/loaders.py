"""Read plan files (.txt, .md, .docx, .pdf) and their metadata into plain text.

Every format is reduced to the same line-oriented text the parser reads:
paragraphs as lines, and tables as one tab-indented cell per line with a blank
line between rows (the shape of annexes extracted from office documents).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..records import Issue, Plan
from .units import short_region

PLAN_SUFFIXES = (".txt", ".md", ".docx", ".pdf")
REGION_RE = re.compile(r"([\u4e00-\u9fa5]{1,8}?(?:自治县|自治州|县|区|市|州|省))")
DOCNO_RE = re.compile(r"([\u4e00-\u9fa5]{2,10}〔\s*\d{4}\s*〕\s*\d+\s*号)")
DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


class PlanFormatError(ValueError):
    """A plan file that cannot be read (unknown type, no text, broken file)."""


@dataclass(frozen=True)
class SourceFile:
    plan: Plan
    text: str
    issues: tuple[Issue, ...]


def discover(corpus_dir: Path) -> list[Path]:
    """Plan files in the corpus, sorted; metadata and README files are not plans."""
    return sorted(
        p
        for p in corpus_dir.iterdir()
        if p.is_file() and p.suffix.lower() in PLAN_SUFFIXES and p.stem.upper() != "README"
    )


def read_text(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".txt", ".md"):
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError:
                continue
        raise PlanFormatError(f"{path.name}：无法识别的文本编码")
    if suffix == ".docx":
        return _docx_text(path)
    if suffix == ".pdf":
        return _pdf_text(path)
    raise PlanFormatError(f"{path.name}：不支持的文件类型（支持 {', '.join(PLAN_SUFFIXES)}）")


def _docx_text(path: Path) -> str:
    import docx  # python-docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several types for broken files
        raise PlanFormatError(f"{path.name}：无法读取 docx（{exc}）") from exc
    lines: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(block, document).text)
        elif tag == "tbl":
            for row in Table(block, document).rows:
                seen: set[int] = set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # merged cells repeat
                        continue
                    seen.add(id(cell._tc))
                    lines.append("\t" + cell.text.replace("\n", ""))
                lines.append("")
    return "\n".join(lines)


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:
        raise PlanFormatError(f"{path.name}：无法读取 PDF（{exc}）") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise PlanFormatError(f"{path.name}：PDF 中没有可提取的文字（可能是扫描件）")
    return text


def load_source(path: Path) -> SourceFile:
    """Read a plan file and its metadata (`<stem>.toml`), inferring what is missing."""
    text = read_text(path)
    if not text.strip():
        raise PlanFormatError(f"{path.name}：文件为空")
    checksum = hashlib.sha256(path.read_bytes()).hexdigest()
    meta_path = path.with_suffix(".toml")
    issues: list[Issue] = []
    meta: dict[str, str] = {}
    if meta_path.exists():
        try:
            meta = {k: str(v) for k, v in tomllib.loads(meta_path.read_text("utf-8")).items()}
        except tomllib.TOMLDecodeError as exc:
            raise PlanFormatError(f"{meta_path.name}：元数据格式错误（{exc}）") from exc
    else:
        issues.append(Issue(path.stem, 0, f"缺少元数据文件 {meta_path.name}，已从正文推断"))
    inferred = infer_metadata(text)

    def pick(key: str) -> str | None:
        # a key present in the metadata file wins, even when empty ("not printed")
        return (meta[key] or None) if key in meta else inferred.get(key)

    region = pick("region") or ""
    plan = Plan(
        id=meta.get("id", path.stem),
        title=pick("title") or path.stem,
        issuer=pick("issuer") or "",
        region=region,
        doc_number=pick("doc_number"),
        issued=pick("issued"),
        source_file=path.name,
        checksum=checksum,
        short_name=meta.get("short_name") or short_region(region),
        name_en=str(meta.get("name_en") or ""),
    )
    return SourceFile(plan=plan, text=text, issues=tuple(issues))


def infer_metadata(text: str) -> dict[str, str]:
    """Best-effort title, region, 文号, issue date from the first lines of a plan."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()][:40]
    out: dict[str, str] = {}
    for i, ln in enumerate(lines):
        if ln.endswith("方案") and len(ln) <= 40 and "印发" not in ln:
            out["title"] = ln
            lines = lines[:i]  # the notice before the title holds 文号 and date
            break
    if "title" in out and (m := REGION_RE.match(out["title"])):
        out["region"] = m.group(1)
    head = "\n".join(lines)
    if m := DOCNO_RE.search(re.sub(r"《[^》]*》|[（(][^)）]*[)）]", "", head)):
        out["doc_number"] = re.sub(r"\s+", "", m.group(1))
    if m := DATE_RE.search(head):
        out["issued"] = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    for ln in lines:
        if ln.endswith(("人民政府", "人民政府办公室")) and len(ln) <= 24:
            out["issuer"] = ln
            break
    return out
