"""Read plan files (.txt, .md, .docx, .pdf) and their metadata into plain text.

Every format is reduced to the same line-oriented text the parser reads:
paragraphs as lines, and tables as one tab-indented cell per line with a blank
line between rows (the shape of annexes extracted from office documents).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..records import Issue, Plan
from .units import short_region

PLAN_SUFFIXES = (".txt", ".md", ".docx", ".pdf")
REGION_RE = re.compile(r"([\u4e00-\u9fa5]{1,8}?(?:自治县|自治州|县|区|市|州|省))")
DOCNO_RE = re.compile(r"([\u4e00-\u9fa5]{2,10}〔\s*\d{4}\s*〕\s*\d+\s*号)")
DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


META_KEYS = ("id", "title", "issuer", "region", "doc_number", "issued", "short_name", "name_en")
# a plan id names files and collections: letters, digits, - _ . and never a path
SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


class PlanFormatError(ValueError):
    """A plan file that cannot be read (unknown type, no text, broken file)."""


def is_safe_id(plan_id: str) -> bool:
    return bool(SLUG_RE.match(plan_id)) and ".." not in plan_id


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), or the encoding charset-normalizer finds (GB18030/GBK for
    most government downloads); an undecidable or garbled result is an error, never mojibake."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise PlanFormatError(f"{name}：无法识别的文本编码（请另存为 UTF-8）")
    encoding = best.encoding
    if encoding.replace("-", "_").lower() in ("gbk", "gb2312", "cp936", "hz"):
        encoding = "gb18030"  # the superset: every GBK file decodes the same, and more
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise PlanFormatError(f"{name}：无法按 {encoding} 解码（{exc}）") from exc
    if not _reads_as_chinese(text):
        raise PlanFormatError(
            f"{name}：无法可靠识别文本编码（识别为 {encoding} 后不是可读的中文），请另存为 UTF-8"
        )
    return text


def _reads_as_chinese(text: str) -> bool:
    """Decoded text that is mostly CJK among its non-ASCII letters (mojibake is not)."""
    wide = [
        ch
        for ch in text
        if ord(ch) > 127 and not unicodedata.category(ch).startswith(("P", "Z", "S"))
    ]
    if not wide:
        return True
    return len(CJK_RE.findall(text)) >= 0.8 * len(wide) and "\ufffd" not in text


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
        return decode_text(path.read_bytes(), path.name)
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
    if not re.search(r"[\w\u4e00-\u9fff]", text):
        raise PlanFormatError(f"{path.name}：文件为空（没有可读的文字）")
    checksum = hashlib.sha256(path.read_bytes()).hexdigest()
    meta_path = path.with_suffix(".toml")
    issues: list[Issue] = []
    meta: dict[str, str] = {}
    if meta_path.exists():
        meta, unknown = read_metadata(meta_path)
        if unknown:
            issues.append(
                Issue(path.stem, 0, f"{meta_path.name}：未知字段 {', '.join(unknown)}（已忽略）")
            )
    else:
        issues.append(Issue(path.stem, 0, f"缺少元数据文件 {meta_path.name}，已从正文推断"))
    plan_id = meta.get("id", path.stem)
    if not is_safe_id(plan_id):
        where = meta_path.name if "id" in meta else path.name
        raise PlanFormatError(
            f"{where}：方案编号“{plan_id}”不可用（只允许字母、数字、-、_、.，不能含路径）"
            + ("" if "id" in meta else f"；请在 {meta_path.name} 中设置 id")
        )
    inferred = infer_metadata(text)

    def pick(key: str) -> str | None:
        # a key present in the metadata file wins, even when empty ("not printed")
        return (meta[key] or None) if key in meta else inferred.get(key)

    region = pick("region") or ""
    plan = Plan(
        id=plan_id,
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


def read_metadata(meta_path: Path) -> tuple[dict[str, str], list[str]]:
    """The `.toml` beside a plan: UTF-8, the known keys as strings (issued an ISO date).
    Anything else is a PlanFormatError naming the file and the field."""
    name = meta_path.name
    try:
        raw = meta_path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanFormatError(
            f"{name}：元数据文件不是 UTF-8 编码（第 {exc.start} 字节起），请另存为 UTF-8"
        ) from exc
    try:
        data: dict[str, Any] = tomllib.loads(raw.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise PlanFormatError(f"{name}：元数据格式错误（{exc}）") from exc
    meta: dict[str, str] = {}
    for key, value in data.items():
        if key not in META_KEYS:
            continue
        if key == "issued" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = value.isoformat()
        if not isinstance(value, str):
            raise PlanFormatError(
                f"{name}：字段 {key} 应为字符串，实为 {type(value).__name__}（{value!r}）"
            )
        meta[key] = value.strip()
    if meta.get("issued"):
        try:
            dt.date.fromisoformat(meta["issued"])
        except ValueError as exc:
            raise PlanFormatError(
                f"{name}：字段 issued 应为日期 YYYY-MM-DD，实为“{meta['issued']}”"
            ) from exc
    return meta, [k for k in data if k not in META_KEYS]


def infer_metadata(text: str) -> dict[str, str]:
    """Best-effort title, region, 文号, issue date from the first lines of a plan."""
    lines = [ln.strip().lstrip("#").strip() for ln in text.splitlines() if ln.strip()][:40]
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
