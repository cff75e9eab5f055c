"""Plan assistant: grounded Q&A over Chinese implementation plans (实施方案 / 工作方案).

The tree follows the pipeline, one direction only:

- ``ingest/``    corpus files → Plan / Section / Task / Unit / Chunk records → index/ (tables, Chroma, caches)
- ``retrieval/`` the query-time view of one index generation: tables, unit registry, lexical + dense search
- ``answer/``    question → understand → gather (Evidence) → compose → verify → render → Answer
- ``http/``      FastAPI service (JSON, SSE, OpenAI-compatible /v1), guards, feedback, the web widget
- ``evals/``     eval cases, runner, metrics, baselines and reports

``records.py`` (typed records) and ``settings.py`` (one Settings object) are shared by all stages;
``cli.py`` is the command line. Importing any module has no side effects.
"""
