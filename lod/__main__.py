import sys

from lod.cli import run

sys.exit(run())
