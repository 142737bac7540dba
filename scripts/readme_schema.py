#!/usr/bin/env python3
"""Rewrites the README's file tables from the schema: scripts/readme_schema.py [APICAL_BINARY]."""
import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
binary = sys.argv[1] if len(sys.argv) > 1 else str(root / "build" / "apical")
tables = subprocess.check_output([binary, "info", "--schema"], text=True)
readme = root / "README.md"
text = readme.read_text()
begin, end = "<!-- schema:begin (apical info --schema) -->\n", "<!-- schema:end -->"
start, stop = text.index(begin) + len(begin), text.index(end)
readme.write_text(text[:start] + tables + text[stop:])
