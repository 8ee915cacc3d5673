#!/usr/bin/env bash
# Installs kcat (librdkafka's CLI) for bench/peers/kcat-perf.mjs from the distribution's packages.
# Idempotent: does nothing when kcat is already on the PATH. Needs root (or sudo) for apt-get.
set -euo pipefail

if command -v kcat >/dev/null 2>&1; then
  echo "install-kcat: kcat already installed at $(command -v kcat): $(kcat -V 2>&1 | grep -m1 Version)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-kcat: kcat is missing and there is no apt-get here; install kcat (librdkafka's kcat) by hand" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi

echo "install-kcat: installing the kcat package with apt-get"
# a fresh image may have no package lists yet
if ! apt-cache show kcat >/dev/null 2>&1; then
  "${sudo[@]}" apt-get update
fi
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y kcat
echo "install-kcat: installed $(command -v kcat): $(kcat -V 2>&1 | grep -m1 Version)"
