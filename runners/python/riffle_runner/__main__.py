"""`python -m riffle_runner`: the process `riffle run` starts for a Python runner instance."""

import asyncio
import os
import resource
import sys

from .session import Config, EncryptedRunError, Session


def raise_open_file_limit() -> None:
    """Every network channel end is a socket: the soft limit goes up to the hard one, as Node and the JVM do."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def main() -> None:
    raise_open_file_limit()
    try:
        config = Config.from_env()
    except KeyError as e:
        print(f"riffle-runner-python: missing environment variable(s) {e.args[0]}; this program is started by "
              f"`riffle run`", file=sys.stderr)
        sys.exit(2)
    except EncryptedRunError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
    except ValueError as e:
        print(f"riffle-runner-python: {e}", file=sys.stderr)
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
