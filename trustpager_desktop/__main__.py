"""``python -m trustpager_desktop`` opens the window, like ``trustpager-desktop``."""

import sys

from trustpager_desktop.app import main

sys.exit(main())
