/* The face rule's recorded setting (facerule.h). */
#include "formats/facerule.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/outfile.h"

/* A record is a few bytes; anything larger is not ours. */
#define RECORD_MAX 4096

int facerule_read(const char *dir, long *min_faces, struct hy_err *err)
{
	struct buf b = {0};
	char *path = path_join(dir, FACERULE_FILE);
	cJSON *j = NULL;
	const cJSON *v;
	int rc = HY_OK;

	*min_faces = FACERULE_UNSET;
	if (!path)
		return hy_err_set(err, HY_EFATAL, "%s: out of memory", dir);
	if (buf_read_file(&b, path, RECORD_MAX, NULL) != HY_OK) {
		if (errno != ENOENT)
			rc = hy_err_set(
			    err, HY_ECONFIG, "%s: cannot read: %s", path,
			    errno == EFBIG ? "larger than a face-rule record"
					   : strerror(errno));
		goto out;
	}
	j = cJSON_ParseWithLength(b.data, b.len);
	v = cJSON_GetObjectItemCaseSensitive(j, "min_faces");
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9 ||
	    v->valuedouble != (long)v->valuedouble) {
		rc = hy_err_set(err, HY_ECONFIG,
				"%s: not a face-rule record (want "
				"{\"min_faces\": N}, N >= 0); remove it if "
				"this folder's face threshold is known",
				path);
		goto out;
	}
	*min_faces = (long)v->valuedouble;
out:
	cJSON_Delete(j);
	buf_release(&b);
	free(path);
	return rc;
}

/* The message of a record that disagrees with the value wanted, the same
 * wherever it is found. */
static int differs(struct hy_err *err, const char *dir, long recorded,
		   long wanted, const char *wanted_from)
{
	return hy_err_set(err, HY_ECONFIG,
			  "%s/%s: this folder was made with --min-faces %ld, "
			  "not %ld (%s); give the same value (or none: the "
			  "recorded one is used), or use another folder",
			  dir, FACERULE_FILE, recorded, wanted, wanted_from);
}

int facerule_write(const char *dir, long min_faces, struct hy_err *err)
{
	struct outfile f = {.fd = -1};
	char text[64];
	long recorded;
	int rc, len;

	if ((rc = facerule_read(dir, &recorded, err)) != HY_OK)
		return rc;
	if (recorded == min_faces)
		return HY_OK;
	if (recorded != FACERULE_UNSET)
		return differs(err, dir, recorded, min_faces, "this run");
	len = snprintf(text, sizeof(text), "{\"min_faces\": %ld}\n", min_faces);
	/* Ranks of an array job may write the same record at once. */
	if ((rc = outfile_open_shared(&f, dir, FACERULE_FILE, "", 1, err)) ||
	    (rc = outfile_write(&f, text, (size_t)len, err)) ||
	    (rc = outfile_commit(&f, err)))
		outfile_abort(&f);
	return rc;
}

int facerule_agree(const char *const *dirs, size_t n, long given, long *used,
		   int *recorded, struct hy_err *err)
{
	char from[1100];
	long want = given, v;
	size_t i;
	int rc;

	*recorded = 0;
	snprintf(from, sizeof(from), "given");
	for (i = 0; i < n; i++) {
		if (!dirs[i])
			continue;
		if ((rc = facerule_read(dirs[i], &v, err)) != HY_OK)
			return rc;
		if (v == FACERULE_UNSET)
			continue;
		if (want != FACERULE_UNSET && v != want)
			return differs(err, dirs[i], v, want, from);
		if (want == FACERULE_UNSET)
			snprintf(from, sizeof(from), "recorded in %s/%s",
				 dirs[i], FACERULE_FILE);
		want = v;
		*recorded = 1;
	}
	*used = want != FACERULE_UNSET ? want : FACERULE_DEFAULT_MIN_FACES;
	return HY_OK;
}
