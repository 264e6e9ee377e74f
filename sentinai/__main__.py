import sys

from sentinai.cli import main

sys.exit(main())
