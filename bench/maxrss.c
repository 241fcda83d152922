/* maxrss: runs a command and writes the peak resident set size of it and its
 * descendants, in KiB, to a file; run.sh uses it for the flat-memory check. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* usage: maxrss OUT_FILE CMD [ARG...]
 * Exits with the command's status (128 + signal if it was killed), so the
 * caller can tell a failed run from a measurement. The figure goes to a file,
 * not stderr, to stay apart from whatever the command prints. */
int main(int argc, char **argv)
{
	struct rusage ru;
	FILE *out = NULL;
	pid_t pid;
	int status, ret = 127;

	if (argc < 3) {
		fprintf(stderr, "usage: maxrss OUT_FILE CMD [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "maxrss: fork: %s\n", strerror(errno));
		return 127;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "maxrss: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "maxrss: waitpid: %s\n", strerror(errno));
			goto out;
		}
	}
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	/* RUSAGE_CHILDREN's ru_maxrss is the largest peak of any one waited-for
	 * descendant (Linux, KiB): right for a multi-threaded tool, not a sum
	 * over worker processes. */
	if (getrusage(RUSAGE_CHILDREN, &ru) != 0) {
		fprintf(stderr, "maxrss: getrusage: %s\n", strerror(errno));
		ret = 127;
		goto out;
	}
	out = fopen(argv[1], "w");
	if (!out || fprintf(out, "%ld\n", ru.ru_maxrss) < 0) {
		fprintf(stderr, "maxrss: %s: %s\n", argv[1], strerror(errno));
		ret = 127;
		goto out;
	}
out:
	if (out && fclose(out) != 0 && ret != 127) {
		fprintf(stderr, "maxrss: %s: close: %s\n", argv[1], strerror(errno));
		ret = 127;
	}
	return ret;
}
