import sys

from mudmap_tui.cli.main import main

sys.exit(main())
