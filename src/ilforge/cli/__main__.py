import sys

from ilforge.cli import main

sys.exit(main())
