"""`python -m riffle_runner`: the process `riffle run` starts for a Python runner instance."""

import asyncio
import os
import sys

from .session import Config, Session


def main() -> None:
    try:
        config = Config.from_env()
    except KeyError as e:
        print(f"riffle-runner-python: missing environment variable(s) {e.args[0]}; this program is started by "
              f"`riffle run`", file=sys.stderr)
        sys.exit(2)
    loop = asyncio.new_event_loop()
    code = loop.run_until_complete(Session(config).run())
    sys.__stdout__.flush()
    sys.__stderr__.flush()
    # Not loop.close() and a normal exit: a processor that swallowed its cancellation must not keep the
    # process alive after `bye`.
    os._exit(code)


if __name__ == "__main__":
    main()
