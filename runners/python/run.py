"""What runner.ttl starts: `python3 {runnerDir}/run.py`, with any Python 3 on PATH, in the pipeline's folder.

A launcher first. Python processors and their dependencies belong to the PIPELINE's virtual environment, as in
RDF-Connect: `.venv` in the pipeline's folder (the working directory riffle starts runners in), else the one
`VIRTUAL_ENV` names. The runner re-executes itself under that environment's interpreter (Python 3.11 or later),
so the processors see its site-packages exactly as `.venv/bin/python -m rdfc_runner` would. Without a pipeline
environment it runs under its own (`{runnerDir}/.venv`, made by `setup`), else under whatever started it.

Under the chosen interpreter, this folder is on sys.path (a script's folder always is: `riffle_runner`), and the
runner's own environment's site-packages is APPENDED, so that its one dependency (`websockets`, whose pure
Python code serves any minor version) is found when the pipeline's environment lacks it, while everything the
pipeline's environment has wins. Nothing is installed anywhere.

This file keeps to syntax every Python 3 reads, so that an old `python3` can still say what is wrong.
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "riffle-runner-python"
# Set in the environment of the re-executed runner: which environment it runs in, and that it is the final one.
LAUNCHED = "RIFFLE_PYTHON_LAUNCHED"
MINIMUM = (3, 11)


def venv_version(venv):
    """(major, minor) from the environment's pyvenv.cfg, or None."""
    try:
        with open(os.path.join(venv, "pyvenv.cfg")) as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() in ("version", "version_info"):
                    parts = value.strip().split(".")
                    return int(parts[0]), int(parts[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def pipeline_venv():
    """The pipeline's virtual environment: ./.venv, else $VIRTUAL_ENV; None when there is none."""
    for candidate in (os.path.join(os.getcwd(), ".venv"), os.environ.get("VIRTUAL_ENV")):
        if candidate and interpreter(candidate):
            return os.path.abspath(candidate)
    return None


def interpreter(venv):
    for name in ("python", "python3"):
        path = os.path.join(venv, "bin", name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def launch():
    """Chooses the environment and re-executes into it; returns when this interpreter is the one to run."""
    venv = pipeline_venv()
    whose = "the pipeline's"
    if venv is None:
        own = os.path.join(HERE, ".venv")
        venv, whose = (own, "the runner's own") if interpreter(own) else (None, None)
    if venv is None:
        return  # no environment at all: today's interpreter, whatever it has
    version = venv_version(venv)
    if version is not None and version < MINIMUM and VERSION_ONLY:
        print_version(version, interpreter(venv), whose + " virtual environment " + venv)
        sys.exit(0)
    if version is not None and version < MINIMUM:
        sys.stderr.write("%s: %s virtual environment %s is Python %d.%d; the runner needs Python %d.%d or later\n"
                         % ((NAME, whose, venv) + version + MINIMUM))
        sys.exit(2)
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        os.environ[LAUNCHED] = venv
        return
    python = interpreter(venv)
    env = dict(os.environ, **{LAUNCHED: venv})
    try:
        os.execve(python, [python, os.path.abspath(__file__)] + sys.argv[1:], env)
    except OSError as e:
        sys.stderr.write("%s: cannot start %s (%s virtual environment): %s\n" % (NAME, python, whose, e))
        sys.exit(2)


def own_site_packages():
    """Where the runner's one dependency (`websockets`) is: `lib/` beside this file (a distribution installs
    it there with `pip install --target`, so that the folder can be moved), and the runner's own environment's
    site-packages (any minor version)."""
    return [p for p in [os.path.join(HERE, "lib")] if os.path.isdir(p)] + sorted(
        glob.glob(os.path.join(HERE, ".venv", "lib", "python3.*", "site-packages")))


def print_version(version, executable, where):
    """`--version`: what riffle checks before anything starts, the interpreter this runner will run under."""
    sys.stdout.write("Python %s %s (%s)\n" % (".".join(str(n) for n in version), executable, where))


# `run.py --version` (riffle:versionArgv): choose the environment as for a run, print its Python, exit.
VERSION_ONLY = sys.argv[1:] == ["--version"]

if LAUNCHED not in os.environ:
    launch()
if VERSION_ONLY:
    venv = os.environ.get(LAUNCHED)
    if venv is None:
        where = "no virtual environment: neither the pipeline's nor the runner's own"
    elif venv == pipeline_venv():
        where = "the pipeline's virtual environment " + venv
    else:
        where = "the runner's own virtual environment " + venv
    print_version(tuple(sys.version_info[:3]), sys.executable, where)
    sys.exit(0)
if sys.version_info < MINIMUM:
    sys.stderr.write("%s: Python %d.%d runs this runner; it needs Python %d.%d or later\n"
                     % ((NAME,) + tuple(sys.version_info[:2]) + MINIMUM))
    sys.exit(2)
for site in own_site_packages():
    if site not in sys.path and os.path.realpath(site) not in map(os.path.realpath, sys.path):
        sys.path.append(site)

from riffle_runner.__main__ import main  # noqa: E402

main()
