/* Inference servers started by us (--spawn): picks the GPUs and free ports,
 * starts one `sh -c CMD` per GPU in its own process group, waits until each
 * answers its health probe, and stops the groups again. */
#include "net/spawn.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/clock.h"

extern char **environ;

/* More servers than this on one node is a typo, not a machine. */
#define SPAWN_MAX 1024
/* SIGTERM to SIGKILL: long enough for a server to free its GPU memory. */
#define SPAWN_GRACE 10.0
/* Lines of a dead server's log quoted in the error, and their width. */
#define SPAWN_TAIL_LINES 3
#define SPAWN_TAIL_WIDTH 200

struct server {
	pid_t pid;  /* its guardian (the sh's parent); 0 once reaped */
	pid_t pgid; /* its process group (= its first pid); 0 before fork */
	int gone;   /* the group was seen empty: never signal it again */
	int status; /* wait status, once reaped */
	int port;
	int ready;
	double ready_at; /* seconds after the start */
	char *gpu;
	char *cmd; /* with {port} and {gpu} replaced */
	char *url;
	char *log;	 /* NULL without log_dir */
	off_t log_start; /* where this run's output begins in log */
	CURL *probe;
	char probe_err[CURL_ERROR_SIZE]; /* why the last probe failed */
};

struct spawn {
	size_t n;
	struct server *sv;
	const char **urls; /* sv[i].url, for spawn_urls */
};

/* GPU ids are pasted into a shell command ({gpu}) and the environment:
 * accept what CUDA and SLURM write (indices, GPU-/MIG- UUIDs) only. */
static int gpu_id_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || strchr("-_.:/", *s)))
			return 0;
	return 1;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Splits the comma list in $var into malloc'd ids. */
static int split_ids(const char *var, const char *val, char ***out, size_t *n,
		     struct hy_err *err)
{
	char **v = calloc(strlen(val) + 1, sizeof(*v));
	const char *p = val;
	int ret = HY_OK;

	*n = 0;
	if (!v)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	for (;;) {
		size_t l = strcspn(p, ",");

		if (!(v[*n] = strndup(p, l))) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto fail;
		}
		if (!gpu_id_ok(v[(*n)++])) {
			ret = hy_err_set(err, HY_ECONFIG,
					 "%s='%.200s': '%.64s' is not a GPU "
					 "index or UUID",
					 var, val, v[*n - 1]);
			goto fail;
		}
		if (!p[l])
			break;
		p += l + 1;
	}
	*out = v;
	return HY_OK;
fail:
	free_list(v, *n);
	*n = 0;
	return ret;
}

/* The GPU of each server: the i-th id of o->gpu_list, else "i". *n in:
 * the servers asked for (0: one per visible GPU, or o->gpus_on_node);
 * out: the servers to start. */
static int pick_gpus(const struct spawn_opts *o, size_t *n, const char *what,
		     char ***gpus, struct hy_err *err)
{
	const char *var = o->gpu_list_from ? o->gpu_list_from : "GPU list";
	const char *val = o->gpu_list;
	char **ids = NULL;
	size_t nids = 0, want = *n;
	int ret;

	if (val) {
		if (!*val || !strcmp(val, "-1"))
			return hy_err_set(err, HY_ECONFIG,
					  "%s='%s': no GPU is visible to "
					  "this job, so no %s server can be "
					  "started",
					  var, val, what);
		ret = split_ids(var, val, &ids, &nids, err);
		if (ret)
			return ret;
		if (!want)
			want = nids;
		if (want > nids) {
			free_list(ids, nids);
			return hy_err_set(err, HY_ECONFIG,
					  "%zu %s servers asked for (--gpus), "
					  "but %s='%.200s' lists %zu GPU%s",
					  want, what, var, val, nids,
					  nids == 1 ? "" : "s");
		}
	} else if (!want && (val = o->gpus_on_node)) {
		char *end;
		long c = strtol(val, &end, 10);

		if (*end || end == val || c < 0 || c > SPAWN_MAX)
			return hy_err_set(err, HY_ECONFIG,
					  "SLURM_GPUS_ON_NODE='%.64s' is not "
					  "a GPU count",
					  val);
		if (c == 0)
			return hy_err_set(err, HY_ECONFIG,
					  "SLURM_GPUS_ON_NODE=0: no GPU on "
					  "this node for the %s servers "
					  "(--gpus N starts N anyway)",
					  what);
		want = (size_t)c;
	}
	if (!want)
		want = 1; /* nothing says: one server, as on a workstation */
	if (want > SPAWN_MAX) {
		free_list(ids, nids);
		return hy_err_set(err, HY_ECONFIG, "%zu %s servers: too many",
				  want, what);
	}
	if (!ids) {
		if (!(ids = calloc(want, sizeof(*ids))))
			return hy_err_set(err, HY_EFATAL, "out of memory");
		for (nids = 0; nids < want; nids++) {
			char num[24];

			snprintf(num, sizeof(num), "%zu", nids);
			if (!(ids[nids] = strdup(num))) {
				free_list(ids, nids);
				return hy_err_set(err, HY_EFATAL,
						  "out of memory");
			}
		}
	}
	for (size_t i = want; i < nids; i++)
		free(ids[i]); /* more GPUs than servers asked for */
	*gpus = ids;
	*n = want;
	return HY_OK;
}

/* cmd with every {port} and {gpu} replaced; malloc'd, NULL on ENOMEM. */
static char *substitute(const char *cmd, int port, const char *gpu)
{
	struct buf b = {0};
	char num[16];
	int bad = 0;

	snprintf(num, sizeof(num), "%d", port);
	for (const char *p = cmd; *p;) {
		if (!strncmp(p, "{port}", 6)) {
			bad |= buf_append(&b, num, strlen(num));
			p += 6;
		} else if (!strncmp(p, "{gpu}", 5)) {
			bad |= buf_append(&b, gpu, strlen(gpu));
			p += 5;
		} else {
			bad |= buf_putc(&b, *p++);
		}
	}
	bad |= buf_putc(&b, '\0');
	if (bad) {
		buf_release(&b);
		return NULL;
	}
	return b.data;
}

/* Binds n sockets to 127.0.0.1:0 and keeps them open, so that the kernel
 * hands out n different ports; the caller closes fds[] just before the
 * servers start, leaving a short window in which another process could
 * take a port (the server then fails to listen, and we say so). */
static int pick_ports(struct spawn *s, int *fds, struct hy_err *err)
{
	for (size_t i = 0; i < s->n; i++) {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, al) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&a, &al) < 0)
			return hy_err_set(err, HY_EFATAL,
					  "cannot find a free port on "
					  "127.0.0.1: %s",
					  strerror(errno));
		s->sv[i].port = ntohs(a.sin_port);
	}
	return HY_OK;
}

/* The environment of the server: ours with CUDA_VISIBLE_DEVICES=gpu, made
 * before fork so that the child does not allocate. The strings are
 * environ's but for the last one, ours: free_env frees it and the array. */
static char **make_env(const char *gpu)
{
	static const char key[] = "CUDA_VISIBLE_DEVICES=";
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 2, sizeof(*env))))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], key, sizeof(key) - 1) != 0)
			env[k++] = environ[i];
	if (!(env[k] = malloc(sizeof(key) + strlen(gpu)))) {
		free(env);
		return NULL;
	}
	snprintf(env[k], sizeof(key) + strlen(gpu), "%s%s", key, gpu);
	return env;
}

static void free_env(char **env)
{
	size_t k = 0;

	if (!env)
		return;
	while (env[k + 1])
		k++;
	free(env[k]); /* ours; the others belong to environ */
	free(env);
}

/* Ends the guardian the way its sh ended, so that our waitpid sees the
 * server's status. */
static void mirror(int st)
{
	if (WIFSIGNALED(st)) {
		struct rlimit no_core = {0, 0};
		sigset_t one;

		setrlimit(RLIMIT_CORE, &no_core); /* a copy of us: no core */
		signal(WTERMSIG(st), SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, WTERMSIG(st));
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(WTERMSIG(st));
		_exit(128 + WTERMSIG(st));
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 127);
}

/* The leader of a server's process group, between us and its sh, so that
 * the server dies with us whatever the shell does: dash forks the command
 * instead of exec'ing it, and PR_SET_PDEATHSIG reaches only our own child.
 * While we live it waits for sh and ends as sh ended (our SIGTERM to the
 * group reaches sh and the server directly). Once we are gone (its
 * PR_SET_PDEATHSIG, or getppid() changed) it sends SIGTERM to the group,
 * and SIGKILL after SPAWN_GRACE. It is a copy of us that never execs:
 * async-signal-safe calls only, though we are single-threaded when
 * spawning and build all it needs beforehand. */
static void guardian(const char *cmd, char **env, int devnull, int logfd,
		     pid_t parent)
{
	static const char msg[] = "hybridize: cannot start /bin/sh\n";
	sigset_t waited, none;
	double end = 0;
	pid_t sh, r;
	int st, sh_st = 0, sh_done = 0;

	sigemptyset(&none);
	sigemptyset(&waited);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, SIGCHLD);
	/* Taken by sigwaitinfo, never by the handlers this copy of us has. */
	sigprocmask(SIG_SETMASK, &waited, NULL);
	signal(SIGCHLD, SIG_DFL); /* not SIG_IGN: we wait for sh */
	setpgid(0, 0);
	prctl(PR_SET_NAME, "hy-spawn-guard"); /* in ps, not "hybridize" */
	/* The server's orphans come to us, so that we see when all are gone. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* We may have died before prctl took effect: then getppid() changed. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	if (dup2(devnull, 0) < 0 ||
	    (logfd >= 0 ? dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0
			: dup2(2, 1) < 0))
		_exit(127);
	close_range(3, ~0U, 0); /* our files and sockets are not the server's */
	sh = fork();
	if (sh < 0)
		_exit(127);
	if (sh == 0) {
		signal(SIGTERM, SIG_DFL); /* SIG_IGN would survive exec */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGXFSZ, SIG_DFL); /* ignored by main.c */
		sigprocmask(SIG_SETMASK, &none, NULL);
		execle("/bin/sh", "sh", "-c", cmd, (char *)NULL, env);
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	for (;;) {
		if (!end) {
			sigwaitinfo(&waited, NULL);
		} else {
			struct timespec tick = {0, 100000000};

			sigtimedwait(&waited, NULL, &tick);
		}
		while ((r = waitpid(-1, &st, WNOHANG)) > 0)
			if (r == sh) {
				sh_st = st;
				sh_done = 1;
			}
		if (!end && getppid() != parent) {
			kill(0, SIGTERM);
			end = clock_now() + SPAWN_GRACE;
		}
		if (!end && sh_done)
			mirror(sh_st);
		if (end && r < 0 && errno == ECHILD)
			_exit(0); /* the server and all it started are gone */
		if (end && clock_now() >= end)
			kill(0, SIGKILL);
	}
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One GET of the health path: 1 when the server answers below 500. */
static int probe(struct server *sv, const char *path)
{
	char url[600];
	long code = 0;
	CURLcode rc;

	if (!sv->probe) {
		if (!(sv->probe = curl_easy_init()))
			return 0;
		snprintf(url, sizeof(url), "%s%s", sv->url, path);
		curl_easy_setopt(sv->probe, CURLOPT_URL, url);
		curl_easy_setopt(sv->probe, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(sv->probe, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(sv->probe, CURLOPT_PROXY, "");
		/* Our own server on this node: a redirect is not it. */
		curl_easy_setopt(sv->probe, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(sv->probe, CURLOPT_PROTOCOLS_STR,
				 "http,https");
		curl_easy_setopt(sv->probe, CURLOPT_ERRORBUFFER, sv->probe_err);
		curl_easy_setopt(sv->probe, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
		curl_easy_setopt(sv->probe, CURLOPT_TIMEOUT_MS, 2000L);
	}
	sv->probe_err[0] = '\0';
	rc = curl_easy_perform(sv->probe);
	if (rc != CURLE_OK) {
		if (!sv->probe_err[0])
			snprintf(sv->probe_err, sizeof(sv->probe_err), "%s",
				 curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(sv->probe, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 500) {
		snprintf(sv->probe_err, sizeof(sv->probe_err), "HTTP %ld",
			 code);
		return 0;
	}
	return 1;
}

/* Appends to msg (of size cap) the last lines this run wrote to the log
 * of sv, each indented on its own line. */
static void log_tail(const struct server *sv, char *msg, size_t cap)
{
	char tail[4096], *lines[SPAWN_TAIL_LINES];
	size_t len = strlen(msg), nl = 0;
	off_t from = sv->log_start, end;
	ssize_t got;
	int fd;

	if (!sv->log) {
		snprintf(msg + len, cap - len, "; its output went to stderr");
		return;
	}
	fd = open(sv->log, O_RDONLY | O_CLOEXEC);
	end = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	if (end > from + (off_t)sizeof(tail) - 1)
		from = end - (off_t)sizeof(tail) + 1;
	got = end > from ? pread(fd, tail, (size_t)(end - from), from) : 0;
	if (fd >= 0)
		close(fd);
	if (got <= 0) {
		snprintf(msg + len, cap - len, "; its log %s is empty",
			 sv->log);
		return;
	}
	tail[got] = '\0';
	/* Last lines first, walking back; a line cut by the window start is
	 * not quoted unless it is all there is. */
	for (char *p = tail + got; p > tail && nl < SPAWN_TAIL_LINES;) {
		char *e = p;

		while (e > tail && e[-1] == '\n')
			*--e = '\0';
		p = e;
		while (p > tail && p[-1] != '\n')
			p--;
		if (p == e)
			break;
		if (p == tail && from > sv->log_start && nl)
			break;
		lines[nl++] = p;
	}
	len += (size_t)snprintf(msg + len, cap - len,
				"; last lines of %s:", sv->log);
	while (nl-- > 0 && len < cap) {
		for (char *c = lines[nl]; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = ' '; /* \r, escapes: one line each */
		len += (size_t)snprintf(msg + len, cap - len, "\n    %.*s",
					SPAWN_TAIL_WIDTH, lines[nl]);
	}
}

/* Collects the servers that exited; returns the first one, or NULL. */
static struct server *reap(struct spawn *s)
{
	struct server *dead = NULL;

	for (size_t i = 0; i < s->n; i++) {
		struct server *sv = &s->sv[i];
		pid_t r;

		if (!sv->pid)
			continue;
		r = waitpid(sv->pid, &sv->status, WNOHANG);
		if (r == sv->pid || (r < 0 && errno == ECHILD)) {
			sv->pid = 0;
			if (!dead)
				dead = sv;
		}
	}
	return dead;
}

static void describe_exit(int st, char *out, size_t cap)
{
	if (WIFEXITED(st))
		snprintf(out, cap, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(out, cap, "was killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(out, cap, "ended (wait status %d)", st);
}

static int not_ready_error(struct spawn *s, const struct spawn_opts *o,
			   const char *what, double waited, struct hy_err *err)
{
	char msg[sizeof(err->msg)];
	size_t len, nr = 0;

	for (size_t i = 0; i < s->n; i++)
		nr += !s->sv[i].ready;
	len = (size_t)snprintf(msg, sizeof(msg), "%s server%s", what,
			       nr == 1 ? "" : "s");
	for (size_t i = 0, k = 0; i < s->n && len < sizeof(msg); i++)
		if (!s->sv[i].ready)
			len += (size_t)snprintf(msg + len, sizeof(msg) - len,
						"%s%zu",
						!k++	  ? " "
						: k == nr ? " and "
							  : ", ",
						i);
	if (len < sizeof(msg))
		len += (size_t)snprintf(msg + len, sizeof(msg) - len,
					" (`%.200s`) not ready after %.0f s",
					o->cmd, waited);
	for (size_t i = 0; i < s->n && len < sizeof(msg); i++) {
		const struct server *sv = &s->sv[i];

		if (sv->ready)
			continue;
		len += (size_t)snprintf(
		    msg + len, sizeof(msg) - len,
		    "; server %zu: GET %s%s: %.120s%s%s%s", i, sv->url,
		    o->health_path ? o->health_path : "/",
		    sv->probe_err[0] ? sv->probe_err : "not probed",
		    sv->log ? " (log " : "", sv->log ? sv->log : "",
		    sv->log ? ")" : "");
	}
	return hy_err_set(err, HY_ECONFIG, "%s", msg);
}

/* Forks server i. Everything the child needs is made here, before. */
static int start_one(struct spawn *s, size_t i, const char *what, int devnull,
		     struct hy_err *err)
{
	struct server *sv = &s->sv[i];
	char **env = make_env(sv->gpu);
	pid_t parent = getpid(), pid;
	int logfd = -1, ret = HY_OK;

	if (!env)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	if (sv->log) {
		char head[512];
		time_t t = time(NULL);
		struct tm tm;
		size_t hl;

		logfd = open(sv->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			     0644);
		if (logfd < 0) {
			ret = hy_err_set(err, HY_EFATAL, "cannot create %s: %s",
					 sv->log, strerror(errno));
			goto out;
		}
		/* Logs are appended run after run: mark where this one
		 * starts, and quote only its lines in errors. */
		localtime_r(&t, &tm);
		snprintf(head, sizeof(head),
			 "==== hybridize %04d-%02d-%02d %02d:%02d:%02d: "
			 "%s server %zu, GPU %s, port %d: %.300s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, what, i, sv->gpu,
			 sv->port, sv->cmd);
		hl = strlen(head);
		if (write(logfd, head, hl) != (ssize_t)hl) {
			ret = hy_err_set(err, HY_EFATAL, "cannot write %s: %s",
					 sv->log, strerror(errno));
			goto out;
		}
		sv->log_start = lseek(logfd, 0, SEEK_END);
	}
	pid = fork();
	if (pid < 0) {
		ret =
		    hy_err_set(err, HY_EFATAL, "cannot start %s server %zu: %s",
			       what, i, strerror(errno));
		goto out;
	}
	if (pid == 0)
		guardian(sv->cmd, env, devnull, logfd, parent);
	/* Also here, so that kill(-pgid) cannot come before the child's
	 * own setpgid. */
	setpgid(pid, pid);
	sv->pid = sv->pgid = pid;
out:
	if (logfd >= 0)
		close(logfd);
	free_env(env);
	return ret;
}

/* Needs curl_global_init done (the probes are curl easy handles). The
 * child side is async-signal-safe, so any thread may call it. A timeout
 * <= 0 waits without limit. */
int spawn_start(struct spawn **out, const struct spawn_opts *o,
		const atomic_int *stop, struct hy_err *err)
{
	const char *what = o->what ? o->what : "inference";
	const char *path = o->health_path ? o->health_path : "/";
	struct spawn *s = NULL;
	char **gpus = NULL;
	int *fds = NULL, devnull = -1, ret;
	size_t n = o->n > 0 ? (size_t)o->n : 0;
	double t0, delay = 0.1;

	*out = NULL;
	if (stop && atomic_load(stop))
		return hy_err_set(err, HY_ESTOP,
				  "stopped before the %s servers "
				  "were started",
				  what);
	if (!o->cmd || !strstr(o->cmd, "{port}"))
		return hy_err_set(err, HY_ECONFIG,
				  "--spawn '%.200s' has no {port}: the %s "
				  "servers must be told where to listen",
				  o->cmd ? o->cmd : "", what);
	ret = pick_gpus(o, &n, what, &gpus, err);
	if (ret != HY_OK || !gpus || !n) { /* the last two: for the analyzer */
		free(gpus);
		return ret != HY_OK ? ret
				    : hy_err_set(err, HY_EFATAL,
						 "no %s server to start", what);
	}
	s = calloc(1, sizeof(*s));
	fds = calloc(n, sizeof(*fds));
	if (!s || !fds || !(s->sv = calloc(n, sizeof(*s->sv))) ||
	    !(s->urls = calloc(n, sizeof(*s->urls)))) {
		free_list(gpus, n);
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto fail;
	}
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->sv[i].gpu = gpus[i]; /* owned by sv now */
		fds[i] = -1;
	}
	free(gpus);
	ret = pick_ports(s, fds, err);
	if (ret)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct server *sv = &s->sv[i];
		char url[64], name[128], host[64] = "";

		/* The host in the name: nodes of one job may share the log
		 * folder, and a message must quote this node's server. */
		gethostname(host, sizeof(host) - 1);
		host[strcspn(host, ".")] = '\0';
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", sv->port);
		snprintf(name, sizeof(name), ".server-%s-%zu.log", host, i);
		if (!(sv->cmd = substitute(o->cmd, sv->port, sv->gpu)) ||
		    !(sv->url = strdup(url)) ||
		    (o->log_dir && !(sv->log = malloc(strlen(o->log_dir) +
						      strlen(name) + 2)))) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto fail;
		}
		if (sv->log)
			snprintf(sv->log, strlen(o->log_dir) + strlen(name) + 2,
				 "%s/%s", o->log_dir, name);
		s->urls[i] = sv->url;
	}
	/* What a server leaves behind when its sh exits is reparented to us,
	 * not to an init that may never reap it (a container's PID 1), so
	 * that spawn_stop can reap it and see the group empty. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		ret = hy_err_set(err, HY_EFATAL, "cannot open /dev/null: %s",
				 strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		close(fds[i]); /* the servers' turn to bind them */
		fds[i] = -1;
	}
	t0 = clock_now();
	for (size_t i = 0; i < n; i++) {
		ret = start_one(s, i, what, devnull, err);
		if (ret)
			goto fail;
	}

	for (;;) {
		struct server *dead;
		size_t nready = 0;
		double waited;

		if (stop && atomic_load(stop)) {
			ret = hy_err_set(err, HY_ESTOP,
					 "stopped while waiting for the %s "
					 "servers",
					 what);
			goto fail;
		}
		if ((dead = reap(s))) {
			char how[128], msg[sizeof(err->msg)];
			size_t l;

			describe_exit(dead->status, how, sizeof(how));
			l = (size_t)snprintf(
			    msg, sizeof(msg), "%s server %zu (`%.200s`) %s %s",
			    what, (size_t)(dead - s->sv), o->cmd, how,
			    dead->ready ? "after it answered"
					: "before it was "
					  "ready");
			if (l < sizeof(msg))
				log_tail(dead, msg, sizeof(msg));
			ret = hy_err_set(err, HY_ECONFIG, "%s", msg);
			goto fail;
		}
		for (size_t i = 0; i < n; i++) {
			struct server *sv = &s->sv[i];

			if (!sv->ready && probe(sv, path)) {
				sv->ready = 1;
				sv->ready_at = clock_now() - t0;
				/* The one thing a long start shows: which
				 * server came up, where, and how fast. */
				hy_report(&o->ready,
					  "%s server %zu on GPU %s ready at %s "
					  "(%.1f s)",
					  what, i, sv->gpu, sv->url,
					  sv->ready_at);
			}
			nready += sv->ready;
		}
		if (nready == n)
			break;
		waited = clock_now() - t0;
		if (o->timeout > 0 && waited >= o->timeout) {
			ret = not_ready_error(s, o, what, waited, err);
			goto fail;
		}
		if (o->timeout > 0 && delay > o->timeout - waited)
			delay = o->timeout - waited;
		clock_nap(delay, stop);
		delay = delay * 1.5 > 1.0 ? 1.0 : delay * 1.5;
	}
	for (size_t i = 0; i < n; i++) { /* keep no sockets open */
		curl_easy_cleanup(s->sv[i].probe);
		s->sv[i].probe = NULL;
	}
	close(devnull);
	free(fds);
	*out = s;
	return HY_OK;
fail:
	if (fds && s)
		for (size_t i = 0; i < s->n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	if (devnull >= 0)
		close(devnull);
	free(fds);
	spawn_stop(s);
	return ret;
}

size_t spawn_urls(const struct spawn *s, const char *const **urls)
{
	*urls = s ? s->urls : NULL;
	return s ? s->n : 0;
}

/* Is anything of server sv's process group left? Reaps what it can. */
static int alive(struct server *sv)
{
	pid_t r;
	int st;

	if (!sv->pgid || sv->gone)
		return 0;
	/* The group's orphans are ours (PR_SET_CHILD_SUBREAPER): reap them
	 * too, or their zombies would keep kill(-pgid, 0) succeeding. */
	while ((r = waitpid(-sv->pgid, &st, WNOHANG)) > 0)
		if (r == sv->pid) {
			sv->pid = 0;
			sv->status = st;
		}
	if (r < 0 && errno == ECHILD)
		sv->pid = 0;
	if (sv->pid)
		return 1;
	/* The sh is gone; what it started may not be. Once the group is
	 * empty its id may be reused: never signal it again. */
	if (kill(-sv->pgid, 0) < 0 && errno == ESRCH)
		sv->gone = 1;
	return !sv->gone;
}

static void signal_groups(struct spawn *s, int sig)
{
	for (size_t i = 0; i < s->n; i++)
		if (alive(&s->sv[i]))
			kill(-s->sv[i].pgid, sig);
}

/* Waits up to secs for every group to empty; returns how many are left. */
static size_t wait_groups(struct spawn *s, double secs)
{
	double end = clock_now() + secs;
	size_t left;

	for (;;) {
		left = 0;
		for (size_t i = 0; i < s->n; i++)
			left += (size_t)alive(&s->sv[i]);
		if (!left || clock_now() >= end)
			return left;
		clock_nap(0.05, NULL);
	}
}

void spawn_stop(struct spawn *s)
{
	if (!s)
		return;
	signal_groups(s, SIGTERM);
	if (wait_groups(s, SPAWN_GRACE)) {
		signal_groups(s, SIGKILL);
		/* Reaps what SIGKILL ends; a process stuck in the kernel (a
		 * GPU driver) is not worth hanging for. */
		wait_groups(s, 2);
	}
	for (size_t i = 0; i < s->n; i++) {
		struct server *sv = &s->sv[i];

		while (sv->pid && waitpid(sv->pid, &sv->status, 0) < 0 &&
		       errno == EINTR)
			;
		curl_easy_cleanup(sv->probe);
		free(sv->gpu);
		free(sv->cmd);
		free(sv->url);
		free(sv->log);
	}
	free(s->sv);
	free(s->urls);
	free(s);
}
