#!/usr/bin/env bash
# ofswitch demo (run as root on Debian 12): three hosts in network namespaces on veths, with
# ofswitch between them; first in standalone mode (a MAC-learning switch, no controller), then,
# when ovs-testcontroller is installed, under that controller. Shows ping and iperf3 through the
# switch. Everything it creates carries a unique prefix and is removed on exit, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (it creates network namespaces and captures on veths)" >&2
  exit 1
fi

bash scripts/setup.sh

P="ofd$((RANDOM % 900 + 100))"
N=3
SUBNET="10.$((RANDOM % 200 + 20)).$((RANDOM % 250))"
WORK="$(mktemp -d /tmp/ofswitch-demo.XXXXXX)"
SWITCH_PID=""
CTL_PID=""
IPERF_PID=""

say() { printf '\n\033[1mdemo: %s\033[0m\n' "$*"; }

stop_pid() {
  local pid="$1"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

cleanup() {
  local status=$?
  stop_pid "$IPERF_PID"
  stop_pid "$SWITCH_PID"
  stop_pid "$CTL_PID"
  for i in $(seq "$N"); do
    ip link del "$P-${i}s" 2>/dev/null || true
    ip netns del "$P-h$i" 2>/dev/null || true
  done
  rm -rf "$WORK"
  if [ "$status" -eq 0 ]; then say "done; everything removed"; else say "failed (exit $status); everything removed"; fi
}
trap cleanup EXIT

say "creating $N hosts ($P-h1..$P-h$N, $SUBNET.1-$N/24) on veth pairs"
for i in $(seq "$N"); do
  ip netns add "$P-h$i"
  ip link add "$P-${i}s" type veth peer name "$P-${i}h"
  ip link set "$P-${i}h" netns "$P-h$i"
  ip -n "$P-h$i" addr add "$SUBNET.$i/24" dev "$P-${i}h"
  ip -n "$P-h$i" link set lo up
  ip -n "$P-h$i" link set "$P-${i}h" up
  ip link set "$P-${i}s" up
done
IFACES=()
for i in $(seq "$N"); do IFACES+=(-i "$P-${i}s"); done

start_switch() {
  local log="$WORK/ofswitch.log"
  : >"$log"
  node dist/src/cli.js "${IFACES[@]}" "$@" >"$log" 2>&1 &
  SWITCH_PID=$!
  for _ in $(seq 100); do
    grep -q "ofswitch running" "$log" && return 0
    kill -0 "$SWITCH_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "demo: ofswitch did not start" >&2
  cat "$log" >&2
  return 1
}

wait_log() {
  for _ in $(seq 100); do
    grep -q "$1" "$WORK/ofswitch.log" && return 0
    sleep 0.1
  done
  echo "demo: no \"$1\" in the switch log" >&2
  return 1
}

traffic() {
  say "ping $SUBNET.1 -> $SUBNET.2 and $SUBNET.3"
  ip netns exec "$P-h1" ping -c 3 -i 0.2 -W 1 "$SUBNET.2"
  ip netns exec "$P-h1" ping -c 3 -i 0.2 -W 1 "$SUBNET.3"
  say "iperf3 (TCP, 5 s) from $P-h1 to $P-h2 through the switch"
  ip netns exec "$P-h2" iperf3 -s -1 >/dev/null 2>&1 &
  IPERF_PID=$!
  sleep 0.5
  ip netns exec "$P-h1" iperf3 -c "$SUBNET.2" -t 5 --connect-timeout 3000 | grep -E "sender|receiver"
  wait "$IPERF_PID" 2>/dev/null || true
  IPERF_PID=""
}

say "starting ofswitch in standalone mode (MAC learning, no controller)"
start_switch --fail-mode standalone --log-level info
traffic
stop_pid "$SWITCH_PID"
SWITCH_PID=""

if command -v ovs-testcontroller >/dev/null; then
  PORT=$((16000 + RANDOM % 1000))
  say "starting ovs-testcontroller on 127.0.0.1:$PORT and ofswitch connected to it (fail mode secure)"
  ovs-testcontroller -O OpenFlow10 --unixctl="$WORK/tc.ctl" "ptcp:$PORT:127.0.0.1" >"$WORK/tc.log" 2>&1 &
  CTL_PID=$!
  sleep 0.3
  MGMT="$WORK/ofswitch.mgmt" # the management socket: only root may open it
  start_switch -c "tcp:127.0.0.1:$PORT" -l "punix:$MGMT" --fail-mode secure --log-level info
  wait_log "session established"
  traffic
  say "some of the flows ovs-testcontroller installed (ovs-ofctl dump-flows unix:$MGMT)"
  ovs-ofctl -O OpenFlow10 dump-flows "unix:$MGMT" | head -6
else
  say "ovs-testcontroller is not installed: skipping the controller part"
fi
