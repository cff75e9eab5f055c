"""Command line: ingest, tasks, ask, chat, serve, eval. Messages are in Chinese."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .settings import Settings, load_settings


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from .ingest.index import IngestError, build_index, current_generation
    from .ingest.loaders import PlanFormatError

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


def cmd_tasks(settings: Settings, args: argparse.Namespace) -> int:
    from .retrieval.store import IndexMissingError, IndexStore

    try:
        store = IndexStore.open(settings)
    except IndexMissingError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    if args.plan and args.plan not in store.plans:
        print(f"错误：没有方案 {args.plan}（可选：{', '.join(store.plans)}）", file=sys.stderr)
        return 2
    if not args.unit and not args.plan:
        print("错误：请给出 --unit 或 --plan", file=sys.stderr)
        return 2
    if args.unit:
        units = store.resolve_unit(args.unit, args.plan)
        if not units:
            print(f"错误：没有找到单位“{args.unit}”", file=sys.stderr)
            return 2
        tasks = []
        for u in units:  # a unit is its region's: only its own plans' tasks
            for pid in [args.plan] if args.plan else u.plans:
                tasks += [t for t in store.tasks_for_unit(u.name, pid, args.role) if t not in tasks]
    else:
        units, tasks = [], store.plan_tasks(args.plan)
    tasks.sort(key=lambda t: (t.plan_id, t.number))
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
    if units:
        print(f"{'、'.join(u.name for u in units)} {role}的任务共 {len(tasks)} 项：")
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
        d = answer.to_dict()
        _print_json(
            {
                k: d[k]
                for k in (
                    "answer",
                    "status",
                    "intent",
                    "citations",
                    "suggestions",
                    "mode",
                    "notice",
                )
            }
        )
    else:
        print(render_text(answer))
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from .answer.assistant import Assistant, InputError
    from .answer.render import render_text

    assistant = Assistant(settings)
    messages: list[dict[str, str]] = []
    print("政策助手（输入问题后回车；输入 /new 开始新对话，/quit 退出）")
    while True:
        try:
            line = input("\n你：").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line in ("/quit", "/exit", "退出"):
            return 0
        if line == "/new":
            messages = []
            print("（已开始新对话）")
            continue
        if not line:
            continue
        messages.append({"role": "user", "content": line})
        try:
            answer = assistant.answer(messages, plan_id=args.plan)
        except InputError as exc:
            messages.pop()
            print(f"错误：{exc}")
            continue
        messages.append({"role": "assistant", "content": answer.answer})
        print("\n助手：" + render_text(answer))


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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    return int(args.func(settings, args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
