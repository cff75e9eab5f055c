"""Retrieval: the read side of an index generation.

``store`` opens a generation (tables, unit registry, Chroma collection); ``embed`` provides the offline
embedding model; ``lexical`` is BM25 over jieba + bigrams; ``retrieve`` fuses lexical, dense and phrase
rankings (reciprocal rank) and maps hits to tasks; ``duties`` is a unit's complete task list from the
table, as rows and as CSV / XLSX / Markdown files.
"""
