"""HTTP: the FastAPI service around ``answer.Assistant``.

``server`` (app factory, routes, static widget, offline /docs), ``service`` (request models, one answer
object for JSON, SSE and /v1), ``sse`` (the one place events are framed, through sse-starlette),
``openai_api`` (/v1/chat/completions, /v1/models), ``guards`` (size limits, rate limit, CORS),
``feedback`` (feedback and conversation logs through SQLAlchemy: SQLite, or PostgreSQL shared by
replicas), ``ratelimit`` (the per-client limit through ``limits``: memory, or Redis shared by replicas). ``static/`` holds widget.js and the
demo page.
"""
