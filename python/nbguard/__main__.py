"""``python -m nbguard ARGS``: runs the bundled ``nbguard`` executable with ARGS."""

import os
import subprocess
import sys

from ._binary import find_nbguard_bin


def main():
    try:
        exe = find_nbguard_bin()
    except FileNotFoundError as e:
        # The exit code nbguard itself uses when it cannot do its job.
        print(f"nbguard: error: {e}", file=sys.stderr)
        sys.exit(2)
    args = [exe, *sys.argv[1:]]
    if sys.platform == "win32":
        # Windows has no exec: run it as a child and pass its exit code on.
        sys.exit(subprocess.run(args).returncode)
    os.execv(exe, args)


if __name__ == "__main__":
    main()
