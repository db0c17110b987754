"""`python -m sources.livechat_emulator`: serve the emulator in the foreground."""

import argparse
import sys

from .cli import add_arguments, serve

parser = argparse.ArgumentParser(prog="python -m sources.livechat_emulator", description=__doc__)
add_arguments(parser)
sys.exit(serve(parser.parse_args()))
