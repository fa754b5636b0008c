"""`python -m stacks <command>`."""

import sys

from stacks.cli import main

sys.exit(main(sys.argv[1:]))
