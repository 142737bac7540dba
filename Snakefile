# apical on a folder of sessions with Snakemake: the same stages as Makefile.analysis, on one
# machine (profiles/local) or on a SLURM cluster (profiles/slurm).
#
#   snakemake --profile profiles/slurm --config sessions=/data/mouse1
#   snakemake --profile profiles/local --config sessions=/data/mouse1 -n   # what would run
#
# Config keys (--config key=value):
#   sessions     the root folder; every folder under it holding an apical.ini is a session
#   apical       the apical binary (default: apical on PATH, else this checkout's build/apical)
#   threads      threads per job of register, segment, extract and regress (default 2)
#   figures_dir  cross-session panels (default SESSIONS/figures)
#
# Memory per job (mem_mb) comes from `apical plan SESSION`, evaluated when the job is about
# to be submitted, so extract and regress are sized from the ROIs segment actually found.
# A stage re-runs when its inputs are newer or when the apical.ini sections it reads change
# (Snakemake's params trigger): editing [regress] re-runs regress and what follows only.
import functools
import json
import os
import re
import shutil
import subprocess

from snakemake.exceptions import WorkflowError

def sessions_root():
    root = config.get("sessions")
    if not root:
        raise WorkflowError("no sessions folder given: add --config sessions=/path/to/sessions")
    root = os.path.abspath(str(root))
    if not os.path.isdir(root):
        raise WorkflowError(f"sessions folder {root} does not exist")
    return root


# Session folders under root, relative to it, in byte order (as Makefile.analysis sorts them).
# Output folders (apical/) and hidden folders (.logs, .snakemake) are not searched.
def find_sessions(root):
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "apical" and not d.startswith("."))
        if "apical.ini" in files and folder != root:
            found.append(os.path.relpath(folder, root))
    if not found:
        raise WorkflowError(f"no session folder (a folder with apical.ini) under {root}")
    return sorted(found)


def apical_binary():
    chosen = config.get("apical") or shutil.which("apical")
    if not chosen:
        chosen = os.path.join(workflow.basedir, "build", "apical")
    if not os.access(chosen, os.X_OK):
        raise WorkflowError(f"apical binary {chosen} is not executable (build it, or --config apical=PATH)")
    return os.path.abspath(chosen) if os.sep in chosen else chosen


SESSIONS = sessions_root()
SESSION_NAMES = find_sessions(SESSIONS)
APICAL = apical_binary()
THREADS = int(config.get("threads", 2))
FIGURES_DIR = os.path.abspath(str(config.get("figures_dir", os.path.join(SESSIONS, "figures"))))
LOGS = os.path.join(SESSIONS, ".logs")


def session_path(name):
    return os.path.join(SESSIONS, name)


# `apical plan` as JSON. Cached per session and per state of the outputs it sizes from, so
# one DAG evaluation asks apical once per session, yet a job submitted after segment sees
# the ROI count.
@functools.lru_cache(maxsize=None)
def cached_plan(session, threads, outputs_state):
    command = [APICAL, "plan", session, "--json", f"--threads={threads}"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise WorkflowError(f"{' '.join(command)} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout)


def plan(name, threads):
    session = session_path(name)
    state = tuple(
        os.path.getmtime(p) if os.path.exists(p) else 0
        for p in (os.path.join(session, "apical", f) for f in ("registered.h5", "rois.h5"))
    )
    return cached_plan(session, threads, state)


def memory_mb(stage):
    return lambda wildcards, threads: plan(wildcards.session, threads)["stages"][stage]["mem_mb"]


# The lines of apical.ini a stage reads: its own section, the sections it shares (e.g.
# [acquisition]) and the keys before any section. A change there re-runs the stage.
def ini_settings(name, sections):
    settings, section = [], ""
    with open(os.path.join(session_path(name), "apical.ini")) as ini:
        for raw in ini:
            line = raw.split("#", 1)[0].strip()  # '#' starts a comment, as in Boost's INI
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
            elif line and (section == "" or section in sections):
                settings.append(f"{section}.{' '.join(line.split())}")
    return "\n".join(settings)


def stage_settings(stage):
    def settings(wildcards):
        sections = plan(wildcards.session, THREADS)["stages"][stage]["config_sections"]
        return ini_settings(wildcards.session, sections)
    return settings


def raw_files(wildcards):
    raw = os.path.join(session_path(wildcards.session), "raw")
    return sorted(os.path.join(raw, f) for f in os.listdir(raw)) if os.path.isdir(raw) else []


def bci_files(wildcards):
    bci = os.path.join(session_path(wildcards.session), "bci")
    return sorted(os.path.join(bci, f) for f in os.listdir(bci) if f.endswith(".csv")) if os.path.isdir(bci) else []


OUT = SESSIONS + "/{session}/apical"
LOG = LOGS + "/{session}"

wildcard_constraints:
    session="|".join(re.escape(name) for name in SESSION_NAMES),


localrules: all


rule all:
    input:
        os.path.join(FIGURES_DIR, "learning_curve.png"),
        expand(OUT + "/qc/index.html", session=SESSION_NAMES),


rule register:
    input: raw_files
    output: OUT + "/registered.h5"
    params: settings=stage_settings("register")
    threads: THREADS
    resources: mem_mb=memory_mb("register")
    log: LOG + "/register.log"
    shell: "{APICAL:q} register {SESSIONS:q}/{wildcards.session:q} --update --threads {threads} > {log:q} 2>&1"


rule segment:
    input: OUT + "/registered.h5"
    output: OUT + "/rois.h5"
    params: settings=stage_settings("segment")
    threads: THREADS
    resources: mem_mb=memory_mb("segment")
    log: LOG + "/segment.log"
    shell: "{APICAL:q} segment {SESSIONS:q}/{wildcards.session:q} --update --threads {threads} > {log:q} 2>&1"


rule extract:
    input: OUT + "/registered.h5", OUT + "/rois.h5"
    output: OUT + "/traces.h5"
    params: settings=stage_settings("extract")
    threads: THREADS
    resources: mem_mb=memory_mb("extract")
    log: LOG + "/extract.log"
    shell: "{APICAL:q} extract {SESSIONS:q}/{wildcards.session:q} --update --threads {threads} > {log:q} 2>&1"


rule regress:
    input: OUT + "/traces.h5", OUT + "/rois.h5", bci_files
    output: OUT + "/regress.h5"
    params: settings=stage_settings("regress")
    threads: THREADS
    resources: mem_mb=memory_mb("regress")
    log: LOG + "/regress.log"
    shell: "{APICAL:q} regress {SESSIONS:q}/{wildcards.session:q} --update --threads {threads} > {log:q} 2>&1"


# A panel folder has many files; its learning curve stands for all of them (as in Make).
rule figures:
    input: OUT + "/regress.h5"
    output: OUT + "/figures/learning_curve.png"
    params: settings=stage_settings("figures")
    threads: 1
    resources: mem_mb=memory_mb("figures")
    log: LOG + "/figures.log"
    shell: "{APICAL:q} figures {SESSIONS:q}/{wildcards.session:q} --force --threads {threads} > {log:q} 2>&1"


rule qc:
    input: OUT + "/figures/learning_curve.png", OUT + "/rois.h5", OUT + "/traces.h5"
    output: OUT + "/qc/index.html"
    params: settings=stage_settings("qc")
    threads: 1
    resources: mem_mb=memory_mb("qc")
    log: LOG + "/qc.log"
    shell: "{APICAL:q} qc {SESSIONS:q}/{wildcards.session:q} --threads {threads} > {log:q} 2>&1"


# Panels across sessions (e.g. the learning curve over days), in session-folder order. It
# holds every session's regress results at once: one process, each session's share added.
rule figures_across_sessions:
    input: expand(OUT + "/regress.h5", session=SESSION_NAMES)
    output: os.path.join(FIGURES_DIR, "learning_curve.png")
    threads: 1
    resources:
        mem_mb=lambda wildcards: plan(SESSION_NAMES[0], 1)["process_mb"]
        + sum(plan(name, 1)["stages"]["figures"]["mem_mb"] - plan(name, 1)["process_mb"] for name in SESSION_NAMES)
    log: LOGS + "/figures_across_sessions.log"
    shell: "{APICAL:q} figures {input:q} -o {FIGURES_DIR:q} --force > {log:q} 2>&1"
