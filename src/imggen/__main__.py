"""``python -m imggen`` runs the command-line interface."""

import sys

from imggen.cli import main

sys.exit(main())
