#!/usr/bin/env bash
# Per-cell cost of the IPython extension (`%load_ext nbguard`) on clean cells, against the same
# cells without it, in the same run: builds the wheel (reusing the release build), installs it
# with IPython into target/bench-venv, and runs benches/kernel.py [ROUNDS] [CELLS_PER_ROUND].
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/bench-venv
if [ ! -x "$venv/bin/ipython" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ipython>=8" "maturin>=1.7,<2"
fi
cargo build --release --quiet
wheel=$("$venv/bin/maturin" build --release --out target/wheels 2>&1 | sed -n 's/.*Built wheel to //p')
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
"$venv/bin/python" benches/kernel.py "$@"
