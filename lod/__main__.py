import sys

from lod.cli import main

sys.exit(main())
