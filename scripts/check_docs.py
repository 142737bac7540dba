#!/usr/bin/env python3
"""Checks the user documentation against the binary: scripts/check_docs.py [APICAL_BINARY].

- every relative link in README.md and docs/*.md resolves (the file, and a #section in it);
- every `apical COMMAND ...` named in the docs is a command, and every --option written
  after it is one of that command's options (`apical COMMAND --help`);
- every --option written alone in `code` is an option of some apical command;
- every command's --help ends with its docs page, and that page exists;
- the file tables in docs/file-formats.md are what `apical info --schema` prints.
Prints one line per problem and exits 1 when there is any.
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINARY = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build" / "apical")
SCHEMA_BEGIN, SCHEMA_END = "<!-- schema:begin (apical info --schema) -->\n", "<!-- schema:end -->"


def pages():
    return [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page):
    found, fenced = set(), False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.add(slug(line.lstrip("#")))
    return found


def link_problems(page):
    problems = []
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        path, _, section = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            problems.append(f"{page.relative_to(ROOT)}: link to {target}: {path} does not exist")
        elif section and linked.suffix == ".md" and section not in anchors(linked):
            problems.append(f"{page.relative_to(ROOT)}: link to {target}: no section '{section}' in {path or page.name}")
    return problems


def run(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True)


def command_names():
    listing = run("--help").stdout + run("--help").stderr
    return set(re.findall(r"^\s{2}([a-z]+)\s", listing, flags=re.M))


HELP = {}


def options_of(command):
    if command not in HELP:
        HELP[command] = set(re.findall(r"--([a-z0-9][a-z0-9-]*)", run(command, "--help").stdout))
    return HELP[command]


def invocations(page):
    """(line number, command, options) of every `apical COMMAND ...` in code."""
    found, fenced = [], False
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        spans = [line.split("#")[0]] if fenced else re.findall(r"`([^`]+)`", line)
        for span in spans:
            for call in re.split(r"[|;&]", span):
                m = re.match(r"\s*(?:\$ )?(?:[\w./-]*/)?apical ([a-z]+)\b(.*)", call)
                if m:
                    found.append((number, m.group(1), re.findall(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)", m.group(2))))
    return found


def invocation_problems(page, commands):
    problems = []
    for number, command, options in invocations(page):
        where = f"{page.relative_to(ROOT)}:{number}"
        if command not in commands:
            problems.append(f"{where}: 'apical {command}' is not a command")
            continue
        for option in options:
            if option not in options_of(command):
                problems.append(f"{where}: 'apical {command}' has no option --{option}")
    return problems


# Options of other programs that the workflow page names on their own (sbatch, snakemake).
FOREIGN_OPTIONS = {"cpus-per-task", "mem", "unlock"}


def lone_option_problems(page, commands):
    """`--option` spans that name no program: they must be some apical command's option."""
    known = set().union(*(options_of(command) for command in commands)) | FOREIGN_OPTIONS
    problems = []
    for number, line in enumerate(page.read_text().splitlines(), 1):
        for span in re.findall(r"`([^`]+)`", line):
            if not span.lstrip().startswith("--"):
                continue  # an apical invocation (checked above) or another program's
            for option in re.findall(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)", span):
                if option not in known:
                    problems.append(f"{page.relative_to(ROOT)}:{number}: no apical command has --{option}")
    return problems


def help_page_problems(commands):
    problems = []
    for command in sorted(commands):
        lines = run(command, "--help").stdout.strip().splitlines()
        m = re.match(r"Documentation: (docs/[\w-]+\.md)", lines[-1] if lines else "")
        if not m:
            problems.append(f"apical {command} --help does not end with its docs page")
        elif not (ROOT / m.group(1)).exists():
            problems.append(f"apical {command} --help names {m.group(1)}, which does not exist")
    return problems


def schema_problems():
    text = (ROOT / "docs" / "file-formats.md").read_text()
    if SCHEMA_BEGIN not in text or SCHEMA_END not in text:
        return ["docs/file-formats.md: the schema markers are missing"]
    start = text.index(SCHEMA_BEGIN) + len(SCHEMA_BEGIN)
    if text[start:text.index(SCHEMA_END)] != run("info", "--schema").stdout:
        return ["docs/file-formats.md: the file tables differ from `apical info --schema` "
                "(run scripts/docs_schema.py)"]
    return []


def main():
    commands = command_names()
    if not commands:
        print(f"check_docs: {BINARY} --help lists no commands")
        return 1
    problems = []
    for page in pages():
        problems += link_problems(page) + invocation_problems(page, commands) + lone_option_problems(page, commands)
    problems += help_page_problems(commands) + schema_problems()
    for problem in problems:
        print(problem)
    print(f"check_docs: {len(pages())} pages, {len(commands)} commands, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
