"""``python -m rchelpers``: the ``rchelpers`` command line (see :mod:`rchelpers.cli`)."""
import sys

from rchelpers.cli import main

if __name__ == "__main__":
    sys.exit(main())
