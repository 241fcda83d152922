#!/usr/bin/env bash
# Puts fastText's language-ID model lid.176.ftz (the prompts stage's English
# filter) into DEST_DIR (default: .cache/models at the repository root).
# The model comes from the npm package fasttext.wasm.js@1.0.0, because npm is
# the registry this machine can reach; its sha256 is checked before use.
#
#     scripts/fetch-model.sh [DEST_DIR]
#
# Quiet and quick when the right file is already there; exits non-zero with a
# message on stderr on any failure.
set -euo pipefail

SHA256=8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83
PKG=fasttext.wasm.js@1.0.0
MEMBER=package/dist/models/language-identification/assets/lid.176.ftz
NAME=lid.176.ftz

die() {
	printf 'fetch-model: %s\n' "$*" >&2
	exit 1
}

sha_of() {
	sha256sum "$1" | cut -d' ' -f1
}

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/.cache/models}
target=$dest/$NAME

if [ -f "$target" ]; then
	have=$(sha_of "$target")
	[ "$have" = "$SHA256" ] && exit 0
	printf 'fetch-model: %s: sha256 %s is not the expected one; fetching it again\n' \
		"$target" "$have" >&2
fi

command -v npm >/dev/null 2>&1 ||
	die "npm not found; it fetches the model. Install it with: apt-get install -y npm"
for tool in sha256sum tar mktemp; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

mkdir -p "$dest" || die "$dest: cannot create directory"
tmp=$(mktemp -d) || die "cannot create a temporary directory"
part=
cleanup() {
	rm -rf "$tmp"
	[ -z "$part" ] || rm -f "$part"
}
trap cleanup EXIT

# npm pack downloads the package tarball without installing it (no
# scripts run).
if ! (cd "$tmp" && npm pack --loglevel=error "$PKG") >"$tmp/npm.log" 2>&1; then
	tail -n 20 "$tmp/npm.log" >&2
	die "npm pack $PKG failed (see above)"
fi
tgz=$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)
[ -n "$tgz" ] || die "npm pack $PKG wrote no tarball"
tar -xzf "$tgz" -C "$tmp" "$MEMBER" 2>"$tmp/tar.log" ||
	die "$(basename "$tgz"): no $MEMBER in the package: $(head -n 1 "$tmp/tar.log")"

got=$(sha_of "$tmp/$MEMBER")
[ "$got" = "$SHA256" ] ||
	die "$PKG: $NAME has sha256 $got, expected $SHA256; refusing to install it"

# Copy beside the target, then rename: a reader never sees half a file, and
# a failed copy leaves any old file alone.
part=$(mktemp "$dest/.$NAME.XXXXXX") || die "$dest: cannot write"
cp "$tmp/$MEMBER" "$part" || die "$part: copy failed"
chmod 0644 "$part"
[ "$(sha_of "$part")" = "$SHA256" ] || die "$part: copy is damaged (disk full?)"
mv -f "$part" "$target" || die "$target: cannot move the model into place"
part=
printf 'fetch-model: %s installed (sha256 verified)\n' "$target"
