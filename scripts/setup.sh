#!/usr/bin/env bash
# Installs the Debian packages hybridize needs to build, test, benchmark and
# run the demo. As root it installs what is missing; otherwise it prints the
# exact command to run and fails. Quiet when everything is there.
set -eu

# Build: compiler, pkg-config and the libraries. Tests and benchmarks:
# cmocka, bsdtar (a foreign tar reader), python3 (a second foreign reader and
# the old pipeline's baseline), libturbojpeg (the shard generator's JPEGs),
# clang (fuzzers), GNU time (peak RSS).
pkgs=(gcc make pkg-config libarchive-dev libcjson-dev libcmocka-dev
	libturbojpeg0-dev libarchive-tools clang time)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# Any python3 will do (a pyenv one, say); Debian's if there is none.
command -v python3 >/dev/null 2>&1 || missing+=(python3)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "hybridize setup: missing packages; as root, run:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
echo "hybridize setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
