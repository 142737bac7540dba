#!/usr/bin/env python3
"""Rewrites the file tables of docs/file-formats.md from the schema: scripts/docs_schema.py [APICAL_BINARY]."""
import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
binary = sys.argv[1] if len(sys.argv) > 1 else str(root / "build" / "apical")
tables = subprocess.check_output([binary, "info", "--schema"], text=True)
page = root / "docs" / "file-formats.md"
text = page.read_text()
begin, end = "<!-- schema:begin (apical info --schema) -->\n", "<!-- schema:end -->"
start, stop = text.index(begin) + len(begin), text.index(end)
page.write_text(text[:start] + tables + text[stop:])
