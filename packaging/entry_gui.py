"""PyInstaller entry for the window (``trustpager-desktop``)."""

import sys

from trustpager_desktop.app import main

sys.exit(main())
