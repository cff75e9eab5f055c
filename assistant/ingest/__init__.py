"""Ingest: plan files in, an index generation out.

``loaders`` (txt/md/docx/pdf + .toml metadata) → ``textnorm`` (PDF line joins, paragraphs, annex cells)
→ ``parse`` (sections, tasks with lead/responsible units) → ``units`` (registry, aliases)
→ ``chunk`` (what is cited vs what is embedded) → ``index`` (tables.json + Chroma collection,
swapped atomically through index/CURRENT).
"""
