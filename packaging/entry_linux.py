"""PyInstaller entry on Linux: one program under two names.

The bundle's ``trustpager`` is a symbolic link to ``trustpager-desktop``, so the Python
modules are carried once (each PyInstaller program embeds its own archive of them).
Started as ``trustpager`` it is the command line; under any other name, the window.
"""

import sys
from pathlib import Path

if Path(sys.argv[0]).name == "trustpager":
    from trustpager_desktop.cli import main
else:
    from trustpager_desktop.app import main

sys.exit(main())
