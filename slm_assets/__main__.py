import sys

from slm_assets.cli import main

sys.exit(main())
