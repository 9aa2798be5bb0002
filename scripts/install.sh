#!/usr/bin/env bash
# Installs everything pizza needs, on a laptop with internet or on a machine
# that reaches only package registries.
#   scripts/install.sh          what `pizza` needs to run
#   scripts/install.sh --test   plus what the test suite needs (Chromium, Java, Maven, Toxiproxy,
#                               and Apicurio Registry, the suite's Schema Registry)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=false
[ "${1:-}" = "--test" ] && with_tests=true

# The Kafka client downloads a prebuilt librdkafka where it can; where it
# cannot, it builds one, linked against these system libraries.
packages=(g++ make python3 libssl-dev libsasl2-dev zlib1g-dev libzstd-dev liblz4-dev libcurl4-openssl-dev)
if $with_tests; then
  # faketime: the clock-skew fault trial runs roles with their wall clock shifted (libfaketime).
  packages+=(chromium faketime)
  command -v java >/dev/null || packages+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || packages+=(maven)
fi

if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
  missing=()
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "install: apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Linking librdkafka against the system libraries avoids downloading their sources.
  export CKJS_LINKING=dynamic
else
  echo "install: not a Debian-like system; relying on the Kafka client's prebuilt binary"
fi

# Toxiproxy, for the network fault trials, is built from the Go module proxy (skipped when
# already in .cache). Debian's Go is enough where no other Go is installed.
if $with_tests; then
  if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ] && command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "install: apt-get install golang-go (to build Toxiproxy)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends golang-go >/dev/null
  fi
  bash scripts/install-toxiproxy.sh
fi

# npm ci builds the TypeScript too (the `prepare` script).
npm ci --no-audit --no-fund

# The suite's Schema Registry: Apicurio Registry from Maven Central, unpacked into .cache
# (skipped when already there; $PIZZA_CACHE_DIR moves the cache, as for the Kafka jars).
if $with_tests; then
  npx tsx tools/registry/fetch.ts
fi
echo "install: done"
