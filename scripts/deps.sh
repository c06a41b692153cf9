#!/bin/sh
# Installs the Debian packages skyvm's build, tests and benchmarks need,
# when any is missing.  Idempotent; quiet when everything is there.
set -eu
PKGS="gcc make libc6-dev linux-libc-dev pkg-config libjansson-dev libcmocka-dev \
libseccomp-dev python3 python3-pytest python3-jsonschema qemu-system-x86 acpica-tools \
python3-pytest-timeout libmicrohttpd-dev curl valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
