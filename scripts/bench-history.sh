#!/usr/bin/env bash
# What each change bought: runs today's `npm run bench` against the shop as it was at
# each given commit, the same way each time, and prints one line per commit.
#
#   bash scripts/bench-history.sh <commit>...        (BENCH_* variables pass through)
#   BENCH_MODES=both BENCH_EMBEDDED=1 bash scripts/bench-history.sh HEAD   (the bench's flags, as variables)
#
# Each commit is checked out into a temporary worktree that shares this clone's
# node_modules; the bench's own files (scripts/, test/support/http-client.ts and the
# cookie jar it uses) are copied in from the current tree, so only the shop differs.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$here/bench-results/history-$(date -u +%Y%m%dT%H%M%SZ).txt"
mkdir -p "$here/bench-results"
# The Kafka jars this clone has already fetched.
export PIZZA_CACHE_DIR="${PIZZA_CACHE_DIR:-$here/.cache}"
for commit in "$@"; do
  tree="$(mktemp -d /tmp/pizza-history-XXXXXX)"
  git -C "$here" worktree add --detach "$tree" "$commit" >/dev/null 2>&1
  ln -s "$here/node_modules" "$tree/node_modules"
  rm -rf "$tree/scripts"; cp -r "$here/scripts" "$tree/scripts"
  cp "$here/test/support/http-client.ts" "$tree/test/support/http-client.ts"
  cp "$here/src/cli/cookie-jar.ts" "$tree/src/cli/cookie-jar.ts"
  (cd "$tree" && npx tsc -p tsconfig.build.json >/dev/null && npx tsx scripts/bench.ts) >"$tree/bench.log" 2>&1 || echo "bench failed at $commit: see $tree/bench.log"
  {
    echo "== $commit $(git -C "$here" log -1 --format=%s "$commit" | cut -c1-90)"
    # The bench's table: from its header line to the blank line after it.
    awk '/^measure  /{on=1; next} on && /^$/{exit} on' "$tree/bench.log"
    grep -E '^bench took' "$tree/bench.log" || true
  } | tee -a "$out"
  # Each run's JSON and report, named by the commit.
  for file in "$tree"/bench-results/bench-*.json "$tree"/bench-results/report-*.html; do
    [ -f "$file" ] && cp "$file" "$here/bench-results/${commit:0:7}-$(basename "$file")"
  done
  git -C "$here" worktree remove --force "$tree" >/dev/null 2>&1 || rm -rf "$tree"
done
git -C "$here" worktree prune
echo "written to $out"
