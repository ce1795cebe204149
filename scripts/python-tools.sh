#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment with the tools in requirements-tools.txt, in
# $VIGIL_TOOLS_DIR/python (default .tools/python). Reinstalls only when the requirements change.
# Prints the interpreter's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
tools_dir="${VIGIL_TOOLS_DIR:-.tools}"
venv="$tools_dir/python"
stamp="$venv/.requirements.sha256"
want="$(sha256sum requirements-tools.txt | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$venv/bin/python"
  exit 0
fi
echo "[python-tools] installing requirements-tools.txt into $venv (a few minutes the first time)" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt >&2
echo "$want" > "$stamp"
echo "$venv/bin/python"
