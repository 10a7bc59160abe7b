#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages: Chromium (browser probes),
# PostgreSQL (the shared store), Prometheus, Pushgateway and the blackbox exporter
# (metrics tests and the benchmark peer), wrk (the API benchmark's load generator) and tini (the image's init, in
# the entrypoint test).
# Idempotent; skips what is already there.
set -euo pipefail

need=()
command -v chromium >/dev/null || need+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v prometheus-blackbox-exporter >/dev/null || need+=(prometheus-blackbox-exporter)
command -v wrk >/dev/null || need+=(wrk)
command -v tini >/dev/null || need+=(tini)

if [ ${#need[@]} -eq 0 ]; then
  echo "system dependencies present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "installing: ${need[*]}"
$SUDO apt-get update -qq
# Debian starts these as services on install; the tests start their own on loopback.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for svc in postgresql prometheus prometheus-pushgateway prometheus-blackbox-exporter; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
