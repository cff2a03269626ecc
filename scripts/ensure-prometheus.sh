#!/usr/bin/env bash
# Make sure Prometheus's `prometheus` and `promtool` are installed: the alert-rule unit tests
# run promtool, and an end-to-end test scrapes the test stack with a real Prometheus.
# Debian/Ubuntu: installs the `prometheus` package when they are missing (as root; the
# package's own service is not needed and is left stopped).
set -euo pipefail
have() { command -v prometheus >/dev/null && command -v promtool >/dev/null; }

if ! have; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's prometheus package (prometheus, promtool) ..."
    export DEBIAN_FRONTEND=noninteractive
    for attempt in 1 2 3 4 5; do  # another apt run may hold the lock for a while
      if apt-get install -y --no-install-recommends prometheus; then break; fi
      [ "$attempt" = 1 ] && apt-get update || true
      sleep 10
    done
    # Debian starts the daemon on :9090 when it can; the tests run their own.
    if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
      systemctl stop prometheus || true
    fi
  else
    cat >&2 <<MSG
prometheus and promtool are needed by the tests. Get them with one of:
  - Debian/Ubuntu: sudo apt-get install prometheus   (then run make test again)
  - any system:    put the release's prometheus and promtool binaries on PATH
MSG
    exit 1
  fi
fi
have || { echo "prometheus/promtool are still missing" >&2; exit 1; }
echo "promtool is here: $(promtool --version 2>&1 | head -1)"
