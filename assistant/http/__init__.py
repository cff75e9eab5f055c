"""HTTP: the FastAPI service around ``answer.Assistant``.

``server`` (app factory, routes, static widget, offline /docs), ``service`` (request models, one answer
object for JSON, SSE and /v1), ``sse`` (the one place events are framed, through sse-starlette),
``openai_api`` (/v1/chat/completions, /v1/models), ``guards`` (size limits, rate limit, CORS),
``feedback`` (SQLite store for feedback and conversation logs). ``static/`` holds widget.js and the
demo page.
"""
