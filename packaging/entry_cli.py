"""PyInstaller entry for the command line (``trustpager``)."""

import sys

from trustpager_desktop.cli import main

sys.exit(main())
