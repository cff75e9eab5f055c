"""Command line: ingest, tasks, ask, chat, serve, eval. Messages are in Chinese."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .settings import Settings, load_settings

if TYPE_CHECKING:
    from .records import Answer


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from .ingest.index import IngestError, build_index, current_generation
    from .ingest.loaders import PlanFormatError

    if "ASSISTANT_EMBED_THREADS" not in os.environ and "OMP_NUM_THREADS" not in os.environ:
        # a batch job: embed on every core (1.8x on 2 cores; the vectors are bit-identical)
        settings = settings.model_copy(update={"embed_threads": min(os.cpu_count() or 1, 8)})
    try:
        summary = build_index(settings, progress=not args.quiet, force=args.force)
    except IngestError as exc:
        for error in exc.errors:
            print(f"错误：{error}", file=sys.stderr)
        live = current_generation(settings.index_dir)
        print(
            f"未建立新索引：{len(exc.errors)} 个错误。"
            + (f"在用索引（{live}）保持不变。" if live else "目前还没有可用的索引。"),
            file=sys.stderr,
        )
        return 2
    except PlanFormatError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    for issue in summary.issues:
        print(f"提示：{issue}", file=sys.stderr)
    print(summary.line())
    return 0


def _open_store(settings: Settings):  # type: ignore[no-untyped-def]
    from .retrieval.store import IndexMissingError, IndexStore

    try:
        return IndexStore.open(settings)
    except IndexMissingError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return None


def _write_export(data: bytes, fmt: str, output: str | None) -> int:
    """A duty list to a file, or to stdout (text formats, or xlsx into a pipe)."""
    if output:
        Path(output).write_bytes(data)
        print(f"已写入 {output}", file=sys.stderr)
        return 0
    if fmt == "xlsx" and sys.stdout.isatty():
        print("错误：xlsx 是二进制文件，请用 --output 文件名.xlsx 指定保存位置。", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


def cmd_tasks(settings: Settings, args: argparse.Namespace) -> int:
    from .retrieval import duties as D

    store = _open_store(settings)
    if store is None:
        return 2
    if args.plan and args.plan not in store.plans:
        print(f"错误：没有方案 {args.plan}（可选：{', '.join(store.plans)}）", file=sys.stderr)
        return 2
    if not args.unit and not args.plan:
        print("错误：请给出 --unit 或 --plan", file=sys.stderr)
        return 2
    unit_names: tuple[str, ...] = ()
    if args.unit:
        duties = D.find_duties(store, args.unit, args.plan, args.role)
        if duties is None:
            print(f"错误：没有找到单位“{args.unit}”", file=sys.stderr)
            return 2
        if args.format:
            return _write_export(D.export(store, duties, args.format), args.format, args.output)
        tasks, unit_names = list(duties.tasks), duties.units
    else:
        if args.format:
            print("错误：导出清单需要 --unit", file=sys.stderr)
            return 2
        tasks = list(store.plan_tasks(args.plan))
    if args.json:
        _print_json(
            [
                {
                    "plan_id": t.plan_id,
                    "number": t.number,
                    "heading": t.heading,
                    "text": t.text,
                    "lead": list(t.lead),
                    "responsible": list(t.responsible),
                    "role_word": t.role_word,
                    "deadline": t.deadline,
                }
                for t in tasks
            ]
        )
        return 0
    role = {"lead": "牵头", "responsible": "负责（责任/配合）", "any": "牵头或负责"}[args.role]
    if unit_names:
        print(f"{'、'.join(unit_names)} {role}的任务共 {len(tasks)} 项：")
    else:
        print(f"〔{store.plans[args.plan].title}〕共 {len(tasks)} 项任务：")
    for t in tasks:
        title = store.plans[t.plan_id].title
        print(f"- 〔{title}〕第{t.number}项：{t.text}")
        print(
            f"  牵头单位：{'、'.join(t.lead) or '（未列明）'}；{t.role_word}：{'、'.join(t.responsible) or '（未列明）'}"
            + (f"；完成时限：{t.deadline}" if t.deadline else "")
        )
    return 0


def answer_object(answer: Answer) -> dict[str, Any]:
    """The answer as every interface returns it (CLI --json, /api/chat, SSE done):
    the Answer's fields plus a message_id."""
    return {**answer.to_dict(), "message_id": "m-" + uuid.uuid4().hex}


def cmd_inspect(settings: Settings, args: argparse.Namespace) -> int:
    """Parse one plan file and print its tasks and every warning, touching no index."""
    from pathlib import Path

    from .ingest.index import parse_file
    from .ingest.loaders import PlanFormatError
    from .ingest.units import AliasTable

    path = Path(args.file)
    if not path.is_file():
        print(f"错误：文件不存在：{path}", file=sys.stderr)
        return 2
    try:
        src, result = parse_file(path, AliasTable.load(settings.aliases_path))
    except PlanFormatError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    issues = [*src.issues, *result.issues]
    if args.json:
        _print_json(
            {
                "plan": src.plan.id,
                "title": src.plan.title,
                "layout": result.layout,
                "tasks": [
                    {
                        "number": t.number,
                        "label": t.label,
                        "lead": list(t.lead),
                        "responsible": list(t.responsible),
                        "role_word": t.role_word,
                        "deadline": t.deadline,
                        "line": t.line_start,
                        "text": t.text,
                    }
                    for t in result.tasks
                ],
                "issues": [
                    {"level": i.level, "line": i.line, "message": i.message} for i in issues
                ],
            }
        )
    else:
        p = src.plan
        print(
            f"{p.title}（{p.id}，{p.region or '地区未知'}，{p.doc_number or '无文号'}，{p.issued or '日期未知'}）"
        )
        layout = {"inline": "正文标注", "annex": "任务分工表"}.get(result.layout, "未识别")
        print(f"任务 {len(result.tasks)} 项（{layout}）")
        print("编号	行	牵头单位	责任/配合单位	完成时限")
        for t in result.tasks:
            print(
                f"{t.number}	{t.line_start}	{'、'.join(t.lead) or '—'}	"
                f"{'、'.join(t.responsible) or '—'}	{t.deadline or '—'}"
            )
        print(
            f"警告 {sum(i.level == 'warning' for i in issues)} 条，错误 {sum(i.level == 'error' for i in issues)} 条"
        )
        for i in issues:
            print(f"  {i}")
    return 2 if any(i.level == "error" for i in issues) else 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from .answer.assistant import Assistant, InputError
    from .answer.render import render_text

    try:
        answer = Assistant(settings).answer(
            [{"role": "user", "content": args.question}], plan_id=args.plan
        )
    except InputError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(answer_object(answer))
    else:
        print(render_text(answer))
    return 0


CHAT_HELP = """命令：
  /help            显示本帮助
  /plan            显示当前方案与可选方案；/plan 方案编号 只在该方案中回答；/plan all 在全部方案中回答
  /export [文件]   把上一个任务清单（如“县教委牵头哪些任务？”的回答）导出为文件：
                   .xlsx（默认）、.csv 或 .md，按扩展名决定格式
  /new             开始新对话
  /quit            退出"""


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from .answer.assistant import Assistant, InputError
    from .answer.render import render_text
    from .retrieval import duties as D

    assistant = Assistant(settings)
    messages: list[dict[str, str]] = []
    plan: str | None = args.plan
    last_list: dict[str, Any] | None = None
    print("政策助手（输入问题后回车；/help 查看命令，/quit 退出）")
    while True:
        try:
            line = input("\n你：").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        if line in ("/quit", "/exit", "退出"):
            return 0
        if command in ("/help", "/?", "帮助"):
            print(CHAT_HELP)
            continue
        if command == "/new":
            messages, last_list = [], None
            print("（已开始新对话）")
            continue
        if command == "/plan":
            store = assistant.holder.get()
            if not rest:
                current = plan or "全部方案"
                names = "；".join(f"{pid}（{p.title}）" for pid, p in store.plans.items())
                print(f"当前：{current}。可选：{names}；/plan all 表示全部方案。")
            elif rest in ("all", "全部"):
                plan = None
                print("（已切换到全部方案）")
            elif rest in store.plans:
                plan = rest
                print(f"（已切换到方案 {rest}：{store.plans[rest].title}）")
            else:
                print(f"错误：没有方案 {rest}（可选：{'、'.join(store.plans)}）")
            continue
        if command == "/export":
            if last_list is None:
                print("错误：还没有可导出的任务清单；先问“某单位牵头哪些任务？”这类问题。")
                continue
            store = assistant.holder.get()
            duties = D.find_duties(store, last_list["unit"], last_list["plan"], last_list["role"])
            if duties is None:
                print("错误：找不到上一个清单的单位。")
                continue
            target = rest or D.filename(duties, "xlsx")
            fmt = Path(target).suffix.lstrip(".").lower()
            if fmt not in D.FORMATS:
                print(f"错误：文件扩展名应为 {'、'.join('.' + f for f in D.FORMATS)} 之一。")
                continue
            try:
                Path(target).write_bytes(D.export(store, duties, fmt))
            except OSError as exc:
                print(f"错误：无法写入 {target}：{exc}")
                continue
            print(f"（已导出 {len(duties.tasks)} 项任务到 {target}）")
            continue
        if command.startswith("/"):
            print(f"错误：未知命令 {command}。\n{CHAT_HELP}")
            continue
        messages.append({"role": "user", "content": line})
        try:
            answer = assistant.answer(messages, plan_id=plan)
        except InputError as exc:
            messages.pop()
            print(f"错误：{exc}")
            continue
        messages.append({"role": "assistant", "content": answer.answer})
        if answer.export:
            last_list = answer.export
        print("\n助手：" + render_text(answer))
        if answer.export:
            print("（输入 /export 可把这份清单导出为 Excel 文件）")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from .http.server import run

    overrides = {
        k: v for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers)) if v
    }
    run(settings.model_copy(update=overrides))
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from .evals import main as eval_main

    return eval_main(settings, args)


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from .bench import main as bench_main
    from .settings import PROJECT_ROOT

    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else None
    return bench_main(settings, args.quick, args.out or PROJECT_ROOT / "docs", sizes)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description="实施方案政策助手（离线可用）")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("ingest", help="解析 corpus/ 中的方案并建立索引")
    s.add_argument(
        "--force", action="store_true", help="即使内容未变也重建；接受任务数减少一半以上的方案"
    )
    s.add_argument("--quiet", action="store_true", help="不显示进度条")
    s.set_defaults(func=cmd_ingest)
    s = sub.add_parser("tasks", help="列出某单位牵头/负责的全部任务，或某方案的全部任务")
    s.add_argument("--unit", help="单位名称或简称，如 县教委、卫健委、人行")
    s.add_argument("--plan", help="方案编号，如 shizhu-2022")
    s.add_argument("--role", choices=("lead", "responsible", "any"), default="any")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--format", choices=("csv", "xlsx", "md"), help="导出清单文件：csv、xlsx（Excel）或 md"
    )
    s.add_argument("--output", "-o", help="清单文件的保存路径（不指定时写到标准输出）")
    s.set_defaults(func=cmd_tasks)
    s = sub.add_parser("inspect", help="解析一个方案文件并列出任务和警告（不改动索引）")
    s.add_argument("file")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_inspect)
    s = sub.add_parser("ask", help="提一个问题")
    s.add_argument("question")
    s.add_argument("--plan")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ask)
    s = sub.add_parser("chat", help="在终端里多轮对话")
    s.add_argument("--plan")
    s.set_defaults(func=cmd_chat)
    s = sub.add_parser("serve", help="启动 HTTP 服务（含网页挂件演示）")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--workers", type=int)
    s.set_defaults(func=cmd_serve)
    s = sub.add_parser("eval", help="运行评测集并输出报告")
    s.add_argument("--set", dest="eval_set", help="只运行某个评测集")
    s.add_argument("--json", action="store_true")
    s.add_argument("--no-baseline", action="store_true", help="不运行基线对照")
    s.set_defaults(func=cmd_eval)
    s = sub.add_parser("bench", help="测量回答延迟（与基线对照）、入库速度和方案数量扩展，写出 docs/benchmarks.md")
    s.add_argument("--quick", action="store_true", help="快速冒烟（哈希嵌入、少量问题、2 个方案）")
    s.add_argument("--out", type=Path, default=None, help="报告目录（默认 docs/）")
    s.add_argument("--sizes", default=None, help="合成方案数量，逗号分隔（默认 2,20；0：只测两个方案的延迟和 HTTP）")
    s.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    return int(args.func(settings, args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
