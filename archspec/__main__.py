import signal
import sys


def _quit(signum, frame):
    # an interrupt while archspec is still starting: nothing is written yet, so leave
    # quietly (main then takes over with its own handling)
    sys.exit(143 if signum == signal.SIGTERM else 130)


signal.signal(signal.SIGINT, _quit)
signal.signal(signal.SIGTERM, _quit)

from archspec.cli.main import main  # noqa: E402 - after the handlers, which cover its import

sys.exit(main())
