# Shared by the resource-fault tests (test_res_*.sh), sourced after
# lib.sh: what "nothing partial left" and "a re-run finishes" are checked
# against.

# no_temporaries DIR: no temporary file (.NAME.part) under DIR. generate's
# .NAME.part/ folders are its documented resume state; files in them are
# checked too.
no_temporaries() { [ -z "$(find "$1" -type f -name '.*.part' 2>/dev/null)" ]; }
# complete_outputs REF DIR: every final output in DIR equals REF's.
complete_outputs() {
	local f
	for f in "$2"/*; do
		case "$(basename "$f")" in .*) continue ;; esac
		if [ -d "$f" ]; then
			diff -r "$f" "$1/$(basename "$f")" >/dev/null || return 1
		else
			cmp -s "$f" "$1/$(basename "$f")" || return 1
		fi
	done
}
# same_tree A B: equal trees, run's state folder (.hybridize) aside.
same_tree() { diff -r -x '.hybridize' "$1" "$2" >/dev/null; }
