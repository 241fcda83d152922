#!/usr/bin/env bash
# Installs the Debian packages hybridize needs to build, test, benchmark and
# run the demo. As root it installs what is missing; otherwise it prints the
# exact command to run and fails. Quiet when everything is there.
set -eu

# Build: compilers, pkg-config and the libraries (libcurl: LLM and image
# servers; fastText: the language filter). Tests and benchmarks:
# cmocka, bsdtar (a foreign tar reader), python3 (a second foreign reader and
# the old pipeline's baseline), libturbojpeg (the shard generator's JPEGs),
# clang (fuzzers), GNU time (peak RSS). Images (generate, blur): libturbojpeg,
# libjpeg (coefficient access), libpng, libwebp; libssl-dev for SHA-256.
# SLURM (tests/cli/test_slurm.sh runs job arrays and srun for real on a
# throw-away single-node cluster, scripts/slurm-local.sh): slurm-wlm
# (slurmctld, slurmd, the clients) and munge (its authentication); without
# /etc/slurm/slurm.conf their init scripts start no SLURM daemon.
# Resource faults (tests/cli/test_res_*.sh): faketime (libfaketime: the wall
# clock jumps under a run) and strace (holds one read of a shard while the
# test replaces or truncates it, or takes its output folder away).
# make lint (in make test): cppcheck, clang-tidy, clang-format.
pkgs=(gcc g++ make pkg-config libarchive-dev libcjson-dev libcurl4-openssl-dev
	libfasttext-dev libcmocka-dev libturbojpeg0-dev libjpeg62-turbo-dev
	libpng-dev libwebp-dev libssl-dev libarchive-tools clang time
	slurm-wlm munge faketime strace cppcheck clang-tidy clang-format)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# Any python3 or npm will do (pyenv's, nodesource's); Debian's if none.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v npm >/dev/null 2>&1 || missing+=(npm)

fetch_model() {
	# The language-ID model ships in an npm package; checked by sha256.
	"$(dirname "$0")/fetch-model.sh"
}

if [ ${#missing[@]} -eq 0 ]; then
	fetch_model
	exit
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "hybridize setup: missing packages; as root, run:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
echo "hybridize setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fetch_model
