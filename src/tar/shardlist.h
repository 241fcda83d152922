/* SHARD... arguments: files, directories (their *.tar / *.tar.gz, sorted)
 * and brace ranges such as 'src/{00000000..00001287}.tar', expanded by the
 * tool itself because sbatch scripts quote them; and the split of the list
 * over SLURM ranks. */
#ifndef HY_SHARDLIST_H
#define HY_SHARDLIST_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct shard_input {
	char *path;
	char *name;   /* file name without .tar / .tar.gz / .tgz */
	int64_t size; /* bytes, -1 when the file cannot be stat'ed */
};

struct shardlist {
	struct shard_input *v;
	size_t n, cap;
};

/* Expands one argument and appends the result. Returns HY_OK, or HY_EFATAL
 * for a malformed brace expression, one expanding to too many names, or an
 * unreadable directory (bad usage: nothing started). */
int shardlist_add_arg(struct shardlist *l, const char *arg, struct hy_err *err);

/* Appends the files of dir whose names end in suffix (".json"), sorted,
 * not hidden ones nor folders, each named without the suffix: other
 * per-shard files (prompts' caption files) split by rank as shards are.
 * Returns HY_OK, or HY_EFATAL for an unreadable directory. */
int shardlist_add_files(struct shardlist *l, const char *dir,
			const char *suffix, struct hy_err *err);

/* Drops repeated paths (first one kept) and refuses two different shards
 * with the same name, since their outputs would collide, and a name that
 * starts with '.' (the stage folders' temporaries and records). */
int shardlist_finish(struct shardlist *l, struct hy_err *err);

/* Refuses an output folder in which the output of a shard, dir/NAME +
 * suffix, is that input shard itself (dir is the input folder, a link to
 * it, or a folder holding an input shard): reshard and run would take every
 * input for finished work and do nothing, verify would compare a shard with
 * itself. Files are compared by device and inode, so every spelling of the
 * folder is caught. Returns HY_OK, or HY_EFATAL (bad usage: nothing
 * started) naming the output and the input and ending "choose another
 * <option>", option being what chose dir ("-o"). */
int shardlist_check_output(const struct shardlist *l, const char *dir,
			   const char *suffix, const char *option,
			   struct hy_err *err);

/* Keeps the shards of one rank: index i goes to rank i % world, so each
 * shard belongs to exactly one rank. */
void shardlist_select(struct shardlist *l, long rank, long world);

/* Brace expansion of one word into a NUL-separated list: calls fn for each
 * result. Supports {a,b,c}, {N..M} (zero-padded when either end is) and
 * several groups; exposed for tests and fuzzing. Returns HY_OK or
 * HY_EFATAL with the reason. */
int shardlist_expand_braces(const char *word,
			    int (*fn)(void *ctx, const char *s), void *ctx,
			    struct hy_err *err);

/* Shard name of a path: the file name without .tar / .tar.gz / .tgz. */
char *shardlist_name(const char *path);

void shardlist_release(struct shardlist *l);

#endif
