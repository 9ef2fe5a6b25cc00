"""What runner.ttl starts: `{runnerDir}/.venv/bin/python {runnerDir}/run.py`. Run as a script, Python puts
this folder on sys.path, so the runner and the processors (`from riffle_runner import Processor`) need
no install step beyond the virtual environment."""

from riffle_runner.__main__ import main

main()
