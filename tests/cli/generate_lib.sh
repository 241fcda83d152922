# Shared set-up of the generate tests (sourced after lib.sh): no SLURM or
# GPU variables from the caller's shell, the fake servers built, and
# IMGTOOL (tests/tools/imgtool.c: image sizes and pixel differences),
# built here when `make tools` has not.
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
unset CUDA_VISIBLE_DEVICES

[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }
IMGTOOL=$ROOT/build/imgtool
if [ ! -x "$IMGTOOL" ]; then
	IMGTOOL=$T/imgtool
	# shellcheck disable=SC2046 # pkg-config output is a word list
	gcc -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$ROOT/src" \
		$(pkg-config --cflags libpng) "$ROOT/tests/tools/imgtool.c" \
		"$ROOT/build/libhy.a" -o "$IMGTOOL" \
		$(pkg-config --libs libarchive libcjson libcurl libturbojpeg libjpeg libpng libwebp libcrypto) \
		-lfasttext -lstdc++ -lpthread -lm 2>imgtool.err ||
		{ fail "build/imgtool missing and cannot be built (make tools): $(head -c 600 imgtool.err)"; finish; }
fi
export IMGTOOL
