#!/usr/bin/env bash
# Builds Toxiproxy's server, the TCP proxy that the fault suite's network trials
# cut, slow down and reset, from the Go module proxy into
#   <cache>/toxiproxy/bin/toxiproxy-server   (<cache> is $PIZZA_CACHE_DIR or <repo>/.cache)
# and does nothing when that version is already there. Needs Go 1.17 or newer.
# Run by `scripts/install.sh --test`, and by test/support/toxiproxy.ts on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v2.5.0
cache_root=${PIZZA_CACHE_DIR:-$PWD/.cache}
bin_dir=$cache_root/toxiproxy/bin
target=$bin_dir/toxiproxy-server
# `go install` stamps no version into the binary (it answers `-version` with "git"), so a file says which it is.
stamp=$target.version

if [ -x "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi

go=$(command -v go || true)
[ -z "$go" ] && [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go
if [ -z "$go" ]; then
  echo "install: Toxiproxy (for the network fault trials) is built with Go, and no \`go\` is on the PATH or in /usr/local/go/bin." >&2
  echo "install: install Go 1.17 or newer (https://go.dev/dl/, or \`apt-get install golang-go\`), then run this again." >&2
  exit 1
fi

echo "install: building Toxiproxy $version with $go (about a minute)"
mkdir -p "$bin_dir"
staging=$(mktemp -d "$bin_dir/staging.XXXXXX")
trap 'rm -rf "$staging"' EXIT
GOBIN=$staging "$go" install "github.com/Shopify/toxiproxy/v2/cmd/server@$version"
# Renamed into place, so a concurrent run never starts a half-written binary.
mv -f "$staging/server" "$target"
echo "$version" >"$stamp"
echo "install: Toxiproxy $version at $target"
