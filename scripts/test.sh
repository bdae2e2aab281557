#!/usr/bin/env bash
# The test command: install what the suite needs (the venv, the Oxigraph server, Debian's Chromium for the
# real-browser test), then run every test. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser test…" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
# two workers (pytest-xdist): the machine has two cores, and much of the suite is pyshacl on one of them
exec .venv/bin/python -m pytest -n 2 "$@"
