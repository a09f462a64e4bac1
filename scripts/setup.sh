#!/usr/bin/env bash
# Installs what ofswitch needs on Debian 12 (run as root): the Debian packages its ports and
# tests use, then the npm dependencies (which build the `cap` libpcap binding), then the build.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libpcap-dev build-essential python3 iproute2 iputils-ping ethtool tcpdump iperf3
  openvswitch-common openvswitch-switch openvswitch-testcontroller python3-os-ken
  mininet
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm ci only when the lockfile changed since the last install (it rebuilds native addons).
stamp=node_modules/.ofswitch-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci"
  npm ci --no-fund --no-audit 2>&1 | grep -v 'Unknown user config' || true
  # cap is optional: the AF_PACKET backend runs without it (the tests that need it fail under CI).
  test -f node_modules/cap/build/Release/cap.node ||
    echo "setup: WARNING: the libpcap binding (cap) did not build; --port-backend pcap is unavailable" >&2
  cp package-lock.json "$stamp"
fi

# npm ci builds the AF_PACKET addon; rebuild it when its sources changed since (a pull).
addon=native/afpacket/build/Release/afpacket.node
if [ -f "$addon" ] && [ -n "$(find native/afpacket -maxdepth 1 -newer "$addon" \( -name '*.c' -o -name '*.h' -o -name '*.gyp' \))" ]; then
  echo "setup: rebuilding the AF_PACKET addon (sources changed)"
  node native/afpacket/install.mjs
fi
test -f "$addon" ||
  echo "setup: the AF_PACKET addon is not built (npm run build:native); ports fall back to libpcap" >&2

# cap aborts the process when a captured interface goes down; patched after every npm ci and
# here for trees installed before the patch existed (a no-op once done).
node native/cap/patch.mjs

echo "setup: building"
npx tsc -p tsconfig.json
