#!/usr/bin/env bash
# Retakes the README's screenshots: runs the browser tests that photograph an
# order on a desktop and a phone and a bottleneck on the lineage page (into
# test-results/screenshots/, which git ignores) and copies them to docs/. The
# test suite itself never writes to docs/, so running it leaves the work tree clean.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run build --silent
npx vitest run test/browser
cp test-results/screenshots/order-desktop-in-progress.png docs/screenshot-order.png
cp test-results/screenshots/order-phone-in-progress.png docs/screenshot-phone.png
cp test-results/screenshots/lineage-bottleneck-desktop.png docs/screenshot-lineage.png
echo "screenshots: docs/screenshot-order.png, docs/screenshot-phone.png and docs/screenshot-lineage.png updated"
