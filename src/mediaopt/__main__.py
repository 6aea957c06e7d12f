"""``python -m mediaopt`` runs the command line."""

import sys

from mediaopt.cli import main

sys.exit(main())
