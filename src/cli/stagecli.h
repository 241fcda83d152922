/* Stage options as the stage commands read them, shared with `run`, which
 * takes every stage's options at once. Each function prints the problem,
 * prefixed with "hybridize CMD: ", and returns -1 on bad usage. */
#ifndef HY_CLI_STAGECLI_H
#define HY_CLI_STAGECLI_H

#include <regex.h>

#include "formats/facerule.h"
#include "stages/stage.h"
#include "tar/shardlist.h"
#include "util/progress.h"
#include "stages/generate.h"
#include "ml/langid.h"
#include "stages/prompts.h"
#include "net/spawn.h"
#include "opts.h"

/* The prompts options and what they own. */
struct prompts_cli {
	struct prompts_opts po;
	regex_t decline;
	int have_re;
	char *system;
	char *langs_buf;
	const char *langs[64];
	size_t nlangs;
	struct langid *lid;
	char **urls;
	size_t nurls;
};

/* Fills pc from the LLM and language options (everything but the
 * endpoints); release with prompts_cli_release, also after a failure. */
int prompts_cli_opts(const struct cli_opts *o, struct prompts_cli *pc,
		     const char *cmd);

/* Sets the LLM endpoints: servers started from spawn_cmd (*sp, to stop
 * with spawn_stop), else --endpoint / --host and --ports. Returns 0, 1, or
 * the exit status of a signal while waiting. */
int prompts_cli_servers(const struct cli_opts *o, struct prompts_cli *pc,
			const char *spawn_cmd, const char *log_dir,
			struct spawn **sp, const char *cmd);

void prompts_cli_release(struct prompts_cli *pc);

/* Starts the --spawn servers (--gpus, --spawn-timeout), logs in log_dir,
 * and points *urls at their base URLs. Returns 0, 1 (a server did not
 * start: the message is printed), or the exit status of a signal. */
int cli_spawn(const struct cli_opts *o, const char *spawn_cmd,
	      const char *health_path, const char *what, const char *log_dir,
	      struct spawn **sp, const char *const **urls, size_t *nurls,
	      const char *cmd);

/* Fills go from the image options (everything but the endpoints). */
int generate_cli_opts(const struct cli_opts *o, struct generate_opts *go,
		      const char *cmd);

/* Sets go's endpoints: servers started from spawn_cmd (then *sp must be
 * stopped with spawn_stop), else --image-endpoint, else the default.
 * Returns 0, 1 (bad usage or a server that did not start) or the exit
 * status of a signal while waiting. */
int generate_cli_servers(const struct cli_opts *o, struct generate_opts *go,
			 const char *spawn_cmd, const char *log_dir,
			 struct spawn **sp, const char *cmd);

/* --min-faces as the stage folders record it (formats/facerule.h): the
 * value recorded in `from` (may be NULL) or in the folders `to` (created if
 * missing), else `given`, else the default, into *used; then recorded in
 * each `to`, when known or when the command applies the rule (`decides`).
 * Returns 0; -1 (printed) when a record disagrees or cannot be read (a
 * configuration error: exit 1); 1 (printed) when a record could not be
 * written (a full disk, say: exit 2; scan first runs its shards, which
 * fail the same way, each named). */
int cli_face_rule(const char *cmd, long given, const char *from,
		  const char *const *to, size_t nto, int decides, long *used);

/* The server pool options both stages take alike (--retries,
 * --server-patience, --endpoint-limit, --no-copies, --api-key-env).
 * Returns 0 or -1 (printed: the variable is not set). */
int cli_pool_opts(const struct cli_opts *o, struct pool_opts *p,
		  const char *cmd);

/* The summary's headline word for a server stage that ended with r,
 * `failed` when something was left undone. (generate prints its own: a
 * configuration error there reads "finished with failures".) */
const char *cli_outcome(int r, int failed);

/* progress_init for cmd on stderr, and ctx reporting to it, stopped by
 * cli_stop and syncing unless --no-fsync. */
void cli_stage_ctx(struct stage_ctx *ctx, struct progress *prog,
		   const struct cli_opts *o, const char *cmd);

/* Expands the SHARD arguments into list. Returns 0 or -1 (printed). */
int cli_shard_args(struct shardlist *list, const struct cli_opts *o,
		   const char *cmd);

/* Creates dir (and its parents) and checks that it can be written.
 * Returns 0 or -1 (printed: the error, else "cannot write to " what). */
int cli_writable_dir(const char *dir, const char *what, const char *cmd);

/* The summary rows of a stage's units (shards, caption files): all of
 * them (n run plus `skipped` found done), done, already done, failed,
 * and those not finished (a signal or a fatal error) when there are. */
void cli_summary_units(const char *what, size_t n, long skipped, int64_t done,
		       int64_t failed);

#endif
