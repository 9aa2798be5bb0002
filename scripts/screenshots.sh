#!/usr/bin/env bash
# Retakes the README's screenshot: runs the browser test that photographs an
# order (into test-results/screenshots/, which git ignores) and copies the
# picture of a delivered order to docs/. The test suite itself never writes
# to docs/, so running it leaves the work tree clean.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run build --silent
npx vitest run test/browser/order-flow.test.ts
cp test-results/screenshots/order-delivered.png docs/screenshot-order.png
echo "screenshots: docs/screenshot-order.png updated from test-results/screenshots/order-delivered.png"
