/* hybridize status: where a work dir stands, as a table, as JSON for
 * scripts, or as the list of shards (and SLURM array indices) still to
 * run. status.h gathers; this file only prints. */
#include "commands.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/fates.h"
#include "stages/status.h"
#include "opts.h"

/* Lines of each per-shard list in the table; --json lists all. */
#define LIST_MAX 20

static const char usage[] =
    "usage: hybridize status WORK_DIR [-o OUT_DIR] [--json] [--missing]\n"
    "\n"
    "Where a work dir stands: read from its stage files (made by `run` or\n"
    "by the separate commands) and from the progress files of `run`\n"
    "(WORK_DIR/.hybridize/progress-R.json), also while runs go on and from\n"
    "any node. Only names and the small JSON files are read.\n"
    "\n"
    "Per stage (scan, prompts, generate, reshard): shards done, in\n"
    "progress, failed, not started. A stage counts as done when its output\n"
    "or a later stage's is there (a run skips to the first missing one).\n"
    "Failed: named in a run's failure lines, or left half-done in prompts\n"
    "or generate with no run on them (their answers and images are kept:\n"
    "run again). The shard list and its split over ranks come from\n"
    "WORK_DIR/.hybridize/shards.json (written by `run`), else from the\n"
    "names in the stage folders. Counts (face samples, prompts, synthetic\n"
    "images, blurred, dropped, kept) come from the stage files. Ranks of\n"
    "`run`: live (written within 30 s), finished, or stale (killed or\n"
    "lost), their shards done, shards per hour, and an ETA for the rest of\n"
    "the work dir at the pace of the live ranks.\n"
    "\n"
    "      -o OUT_DIR   final shards, as given to run (default\n"
    "                   WORK_DIR/shards)\n"
    "      --json       the report as one JSON object on stdout\n"
    "      --missing    only the shards without OUT_DIR/NAME.tar, one a\n"
    "                   line (NAME, a tab, its path from shards.json), then\n"
    "                   a line 'array: LIST' with the SLURM array indices\n"
    "                   that still have such a shard (shard i belongs to\n"
    "                   index i % W). Resubmit with sbatch --array=LIST and\n"
    "                   have the job pass --rank $SLURM_ARRAY_TASK_ID\n"
    "                   --world W to run: a partial array changes\n"
    "                   SLURM_ARRAY_TASK_COUNT.\n"
    "\n"
    "Exit status: 0 the report was made (work may remain: see the counts\n"
    "or --missing), 1 bad usage or a WORK_DIR that cannot be read.\n";

/* 45s, 12m05s, 3h05m, 2d04h. */
static void fmt_dur(char *out, size_t n, double secs)
{
	long s = secs > 0 ? (long)(secs + 0.5) : 0;

	if (s < 60)
		snprintf(out, n, "%lds", s);
	else if (s < 3600)
		snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, n, "%ldh%02ldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, n, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}

static const char *stage_name(int s)
{
	return s < PL_N ? pipeline_stage_name((enum pipeline_stage)s) : "-";
}

/* What a failed shard's line says; for one left in progress, why. */
static const char *failure_reason(const struct status_shard *s)
{
	if (s->failure)
		return s->failure;
	return "left half-done with no run on it (finished samples are "
	       "kept): run again";
}

static void print_missing(const struct status_report *r)
{
	for (size_t i = 0; i < r->nshards; i++) {
		const struct status_shard *s = &r->shards[i];

		if (s->stage == PL_N)
			continue;
		if (s->path)
			printf("%s\t%s\n", s->name, s->path);
		else
			printf("%s\n", s->name);
	}
	if (!r->have_list)
		printf("array: unknown (no %s/.hybridize/shards.json: this "
		       "list comes from the stage folders only, and shards "
		       "without any stage file are not in it)\n",
		       r->workdir);
	else if (!r->array[0])
		printf("array: none (every final shard is there)\n");
	else
		printf("array: %s (world %ld)\n", r->array, r->world);
}

static void print_shard_lists(const struct status_report *r)
{
	int64_t n[2] = {0, 0};

	for (size_t i = 0; i < r->nshards; i++) {
		const struct status_shard *s = &r->shards[i];

		if (s->stage < PL_N && s->state == STATUS_IN_PROGRESS)
			n[0]++;
		else if (s->stage < PL_N && s->state == STATUS_FAILED)
			n[1]++;
	}
	for (int l = 0; l < 2; l++) {
		int64_t shown = 0;

		if (!n[l])
			continue;
		printf("%s (%lld):\n", l ? "failed" : "in progress",
		       (long long)n[l]);
		for (size_t i = 0; i < r->nshards && shown < LIST_MAX; i++) {
			const struct status_shard *s = &r->shards[i];
			char part[64] = "";

			if (s->stage == PL_N ||
			    s->state !=
				(l ? STATUS_FAILED : STATUS_IN_PROGRESS))
				continue;
			shown++;
			if (s->part_done >= 0 && s->part_of >= 0)
				snprintf(part, sizeof(part),
					 "%lld/%lld samples",
					 (long long)s->part_done,
					 (long long)s->part_of);
			else if (s->part_done >= 0)
				snprintf(part, sizeof(part), "%lld samples",
					 (long long)s->part_done);
			if (l)
				printf("  %-12s %-9s %s%s%s\n", s->name,
				       stage_name(s->stage), failure_reason(s),
				       part[0] ? "; " : "", part);
			else
				printf("  %-12s %-9s %s\n", s->name,
				       stage_name(s->stage), part);
		}
		if (n[l] > shown)
			printf("  ... and %lld more (--json lists all)\n",
			       (long long)(n[l] - shown));
	}
}

static void print_ranks(const struct status_report *r)
{
	char dur[32], age[40], el[32], eta[32];

	if (!r->nranks)
		return;
	printf("ranks (%zu progress file%s, %zu live):\n", r->nranks,
	       r->nranks == 1 ? "" : "s", r->live);
	printf("  %-5s %-16s %-8s %-9s %11s %9s %9s %9s %9s\n", "rank", "host",
	       "pid", "state", "shards", "updated", "elapsed", "shards/h",
	       "eta");
	for (size_t k = 0; k < r->nranks; k++) {
		const struct status_rank *rk = &r->ranks[k];
		char shards[48], rate[32];

		snprintf(shards, sizeof(shards), "%lld/%lld",
			 (long long)rk->shards_done, (long long)rk->shards);
		fmt_dur(dur, sizeof(dur), (double)(r->now - rk->updated));
		snprintf(age, sizeof(age), "%s ago", dur);
		fmt_dur(el, sizeof(el), rk->elapsed);
		if (rk->eta >= 0)
			fmt_dur(eta, sizeof(eta), rk->eta);
		else
			snprintf(eta, sizeof(eta), "-");
		snprintf(rate, sizeof(rate), "%.1f", rk->shards_per_hour);
		printf("  %-5ld %-16s %-8ld %-9s %11s %9s %9s %9s %9s\n",
		       rk->rank, rk->host, rk->pid,
		       status_rank_state_name(rk->state), shards, age, el, rate,
		       eta);
		if (r->have_list && rk->world != r->world)
			printf("        (of an older split: world %ld)\n",
			       rk->world);
	}
}

static void print_table(const struct status_report *r)
{
	static const char *const fate_labels[4] = {
	    "synthetic images", "blurred", "dropped", "kept as they were"};
	char eta[32];

	if (r->have_list)
		printf("work dir %s: %zu shard%s (from .hybridize/shards.json, "
		       "world %ld), final shards in %s\n",
		       r->workdir, r->nshards, r->nshards == 1 ? "" : "s",
		       r->world, r->outdir);
	else
		printf("work dir %s: %zu shard%s (from the stage folders), "
		       "final shards in %s\n",
		       r->workdir, r->nshards, r->nshards == 1 ? "" : "s",
		       r->outdir);
	if (r->unlisted)
		printf("  (and stage files of %zu shard%s not in shards.json, "
		       "not counted)\n",
		       r->unlisted, r->unlisted == 1 ? "" : "s");
	printf("  %-10s %8s %12s %8s %12s\n", "stage", "done", "in progress",
	       "failed", "not started");
	for (int s = 0; s < PL_N; s++)
		printf("  %-10s %8lld %12lld %8lld %12lld\n", stage_name(s),
		       (long long)r->stages[s][STATUS_DONE],
		       (long long)r->stages[s][STATUS_IN_PROGRESS],
		       (long long)r->stages[s][STATUS_FAILED],
		       (long long)r->stages[s][STATUS_NOT_STARTED]);
	for (int s = 0; s < PL_N; s++)
		if (r->failed_unnamed[s])
			printf("  (%lld failed %s shard%s counted by the "
			       "progress files, no longer named in them)\n",
			       (long long)r->failed_unnamed[s], stage_name(s),
			       r->failed_unnamed[s] == 1 ? "" : "s");
	printf("  %-22s %lld\n", "face samples", (long long)r->faces);
	printf("  %-22s %lld\n", "prompts", (long long)r->prompts);
	printf("  %-22s %lld\n", "no prompt", (long long)r->no_prompt);
	for (int k = 0; k < 4; k++)
		printf("  %-22s %lld\n", fate_labels[k],
		       (long long)r->fates[k]);
	if (r->part_done)
		printf("  %-22s %lld\n", "samples in progress",
		       (long long)r->part_done);
	print_shard_lists(r);
	print_ranks(r);
	if (r->eta >= 0)
		fmt_dur(eta, sizeof(eta), r->eta);
	if (!r->missing)
		printf("all %zu final shards are there\n", r->nshards);
	else if (r->eta >= 0)
		printf("%lld of %zu final shards missing; %.1f shards/h over "
		       "%zu live rank%s: ETA %s\n",
		       (long long)r->missing, r->nshards, r->shards_per_hour,
		       r->live, r->live == 1 ? "" : "s", eta);
	else
		printf("%lld of %zu final shards missing; ETA unknown (%s)\n",
		       (long long)r->missing, r->nshards,
		       r->live ? "no live rank has finished a shard yet"
			       : "no live rank");
}

/* A count, or null where it is unknown (< 0). */
static cJSON *num(int64_t v)
{
	return v < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)v);
}

static cJSON *shard_json(const struct status_shard *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", s->name);
	if (s->path)
		cJSON_AddStringToObject(o, "path", s->path);
	else
		cJSON_AddNullToObject(o, "path");
	if (s->stage < PL_N)
		cJSON_AddStringToObject(o, "stage", stage_name(s->stage));
	return o;
}

static cJSON *report_json(const struct status_report *r, int missing)
{
	cJSON *o = cJSON_CreateObject(), *st, *c, *ip, *fl, *rk, *w;

	cJSON_AddStringToObject(o, "workdir", r->workdir);
	cJSON_AddStringToObject(o, "outdir", r->outdir);
	cJSON_AddBoolToObject(o, "shard_list", r->have_list);
	cJSON_AddItemToObject(o, "world", num(r->have_list ? r->world : -1));
	cJSON_AddNumberToObject(o, "now", (double)r->now);
	cJSON_AddNumberToObject(o, "shards", (double)r->nshards);
	cJSON_AddNumberToObject(o, "unlisted", (double)r->unlisted);
	st = cJSON_AddObjectToObject(o, "stages");
	for (int s = 0; s < PL_N; s++) {
		cJSON *x = cJSON_AddObjectToObject(st, stage_name(s));

		cJSON_AddNumberToObject(x, "done",
					(double)r->stages[s][STATUS_DONE]);
		cJSON_AddNumberToObject(
		    x, "in_progress", (double)r->stages[s][STATUS_IN_PROGRESS]);
		cJSON_AddNumberToObject(x, "failed",
					(double)r->stages[s][STATUS_FAILED]);
		cJSON_AddNumberToObject(
		    x, "not_started", (double)r->stages[s][STATUS_NOT_STARTED]);
		cJSON_AddNumberToObject(x, "failed_unnamed",
					(double)r->failed_unnamed[s]);
	}
	c = cJSON_AddObjectToObject(o, "counts");
	cJSON_AddNumberToObject(c, "faces", (double)r->faces);
	cJSON_AddNumberToObject(c, "prompts", (double)r->prompts);
	cJSON_AddNumberToObject(c, "no_prompt", (double)r->no_prompt);
	cJSON_AddNumberToObject(c, "images", (double)r->fates[FATE_SYNTHETIC]);
	cJSON_AddNumberToObject(c, "blurred", (double)r->fates[FATE_BLURRED]);
	cJSON_AddNumberToObject(c, "dropped", (double)r->fates[FATE_DROPPED]);
	cJSON_AddNumberToObject(c, "kept", (double)r->fates[FATE_KEPT]);
	cJSON_AddNumberToObject(c, "in_progress_samples", (double)r->part_done);
	ip = cJSON_AddArrayToObject(o, "in_progress");
	fl = cJSON_AddArrayToObject(o, "failed");
	for (size_t i = 0; i < r->nshards; i++) {
		const struct status_shard *s = &r->shards[i];
		cJSON *x;

		if (s->stage == PL_N || (s->state != STATUS_IN_PROGRESS &&
					 s->state != STATUS_FAILED))
			continue;
		x = shard_json(s);
		cJSON_AddItemToObject(x, "done", num(s->part_done));
		cJSON_AddItemToObject(x, "of", num(s->part_of));
		if (s->state == STATUS_FAILED) {
			cJSON_AddStringToObject(x, "reason", failure_reason(s));
			cJSON_AddItemToArray(fl, x);
		} else {
			cJSON_AddItemToArray(ip, x);
		}
	}
	rk = cJSON_AddArrayToObject(o, "ranks");
	for (size_t k = 0; k < r->nranks; k++) {
		const struct status_rank *x = &r->ranks[k];
		cJSON *y = cJSON_CreateObject(), *ys;

		cJSON_AddNumberToObject(y, "rank", (double)x->rank);
		cJSON_AddNumberToObject(y, "world", (double)x->world);
		cJSON_AddStringToObject(y, "host", x->host);
		cJSON_AddNumberToObject(y, "pid", (double)x->pid);
		cJSON_AddStringToObject(y, "state",
					status_rank_state_name(x->state));
		cJSON_AddStringToObject(y, "file", x->file);
		cJSON_AddNumberToObject(y, "started", (double)x->started);
		cJSON_AddNumberToObject(y, "updated", (double)x->updated);
		cJSON_AddNumberToObject(y, "age",
					(double)(r->now - x->updated));
		cJSON_AddNumberToObject(y, "elapsed", x->elapsed);
		cJSON_AddNumberToObject(y, "shards", (double)x->shards);
		cJSON_AddNumberToObject(y, "shards_done",
					(double)x->shards_done);
		cJSON_AddNumberToObject(y, "shards_per_hour",
					x->shards_per_hour);
		if (x->eta >= 0)
			cJSON_AddNumberToObject(y, "eta", x->eta);
		else
			cJSON_AddNullToObject(y, "eta");
		cJSON_AddNumberToObject(y, "samples", (double)x->samples);
		cJSON_AddNumberToObject(y, "faces", (double)x->faces);
		cJSON_AddNumberToObject(y, "failed_samples",
					(double)x->failed_samples);
		cJSON_AddNumberToObject(y, "bad_samples",
					(double)x->bad_samples);
		cJSON_AddNumberToObject(y, "bytes_out", (double)x->bytes_out);
		ys = cJSON_AddObjectToObject(y, "stages");
		for (int s = 0; s < PL_N; s++) {
			cJSON *z = cJSON_AddObjectToObject(ys, stage_name(s));

			cJSON_AddNumberToObject(z, "done", (double)x->done[s]);
			cJSON_AddNumberToObject(z, "skipped",
						(double)x->skipped[s]);
			cJSON_AddNumberToObject(z, "failed",
						(double)x->failed[s]);
		}
		cJSON_AddItemToObject(
		    y, "failures",
		    cJSON_CreateStringArray((const char *const *)x->failures,
					    (int)x->nfailures));
		cJSON_AddItemToArray(rk, y);
	}
	cJSON_AddNumberToObject(o, "live_ranks", (double)r->live);
	cJSON_AddNumberToObject(o, "shards_per_hour", r->shards_per_hour);
	cJSON_AddNumberToObject(o, "missing", (double)r->missing);
	if (r->eta >= 0)
		cJSON_AddNumberToObject(o, "eta", r->eta);
	else
		cJSON_AddNullToObject(o, "eta");
	if (r->array)
		cJSON_AddStringToObject(o, "array", r->array);
	else
		cJSON_AddNullToObject(o, "array");
	if (missing) {
		cJSON *m = cJSON_AddArrayToObject(o, "missing_shards");

		for (size_t i = 0; i < r->nshards; i++)
			if (r->shards[i].stage != PL_N)
				cJSON_AddItemToArray(m,
						     shard_json(&r->shards[i]));
	}
	w = cJSON_CreateStringArray((const char *const *)r->warnings,
				    (int)r->nwarnings);
	cJSON_AddItemToObject(o, "warnings", w);
	return o;
}

int cmd_status(int argc, char **argv)
{
	struct cli_opts o;
	struct status_report r = {0};
	struct hy_err err = {0};
	cJSON *j = NULL;
	char *text = NULL;
	int status = 1, ret;

	ret = cli_parse(argc, argv, CLI_STATUS, usage, &o);
	if (ret != 0) {
		cli_free(&o);
		return ret > 0 ? 0 : 1;
	}
	if (o.args.n != 1 || !*o.args.v[0]) {
		fprintf(stderr, "hybridize status: needs one WORK_DIR (see "
				"--help)\n");
		goto out;
	}
	if (status_gather(&r, o.args.v[0], o.output, 0, &err) != HY_OK) {
		fprintf(stderr, "hybridize status: %s\n", err.msg);
		goto out;
	}
	for (size_t i = 0; i < r.nwarnings; i++)
		fprintf(stderr, "hybridize status: warning: %s\n",
			r.warnings[i]);
	if (o.json) {
		j = report_json(&r, o.missing);
		text = j ? cJSON_Print(j) : NULL;
		if (!text) {
			fprintf(stderr, "hybridize status: out of memory\n");
			goto out;
		}
		printf("%s\n", text);
	} else if (o.missing) {
		print_missing(&r);
	} else {
		print_table(&r);
	}
	status = 0;
out:
	free(text);
	cJSON_Delete(j);
	status_release(&r);
	cli_free(&o);
	return status;
}
