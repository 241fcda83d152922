/* spawn: the contract generate and prompts rely on, with small shell and
 * python3 servers instead of real inference servers. */
#include "unit.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/spawn.h"

/* The log of server i on this host, as spawn names it. */
static void log_path(char *path, size_t n, const char *dir, int i)
{
	char host[64] = "";

	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, ".")] = '\0';
	snprintf(path, n, "%s/.server-%s-%d.log", dir, host, i);
}

#define HTTP_SERVER "exec python3 -m http.server {port} --bind 127.0.0.1"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	unsetenv("CUDA_VISIBLE_DEVICES");
	unsetenv("SLURM_STEP_GPUS");
	unsetenv("SLURM_JOB_GPUS");
	unsetenv("SLURM_GPUS_ON_NODE");
	snprintf(dir, sizeof(dir), "/tmp/hy-unit-spawn-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	unsetenv("CUDA_VISIBLE_DEVICES");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 when something accepts connections on 127.0.0.1:port. */
static int listening(int port)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int nready;

/* The ready lines, told through the reporter rather than printed. */
static void count_ready(void *ctx, const char *line)
{
	(void)ctx;
	assert_non_null(strstr(line, "test server "));
	assert_non_null(strstr(line, " ready at http://127.0.0.1:"));
	nready++;
}

static void test_null_is_accepted(void **state)
{
	const char *const *urls = (const char *const *)1;

	(void)state;
	spawn_stop(NULL);
	assert_int_equal(spawn_urls(NULL, &urls), 0);
	assert_null(urls);
}

static void test_cmd_without_port_is_config_error(void **state)
{
	struct spawn_opts o = {.cmd = "sleep 5", .timeout = 5, .what = "LLM"};
	struct spawn *s = (struct spawn *)1;
	struct hy_err err = {0};
	char path[128];

	(void)state;
	o.log_dir = dir;
	assert_int_equal(spawn_start(&s, &o, NULL, &err), HY_ECONFIG);
	assert_null(s);
	assert_non_null(strstr(err.msg, "{port}"));
	log_path(path, sizeof(path), dir, 0);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_stop_set_before_start(void **state)
{
	struct spawn_opts o = {.cmd = HTTP_SERVER, .timeout = 5, .what = "LLM"};
	struct spawn *s = NULL;
	struct hy_err err = {0};
	atomic_int stop = 15;

	(void)state;
	assert_int_equal(spawn_start(&s, &o, &stop, &err), HY_ESTOP);
	assert_null(s);
}

static void test_servers_get_ports_gpus_and_are_stopped(void **state)
{
	struct spawn_opts o = {
	    .n = 2, .health_path = "/", .timeout = 20, .what = "test"};
	struct spawn *s = NULL;
	struct hy_err err = {0};
	const char *const *urls;
	char cmd[256], path[128], line[32];
	int ports[2];
	FILE *f;

	(void)state;
	snprintf(cmd, sizeof(cmd),
		 "echo $CUDA_VISIBLE_DEVICES >%s/gpu-{gpu}; " HTTP_SERVER, dir);
	o.cmd = cmd;
	o.log_dir = dir;
	o.gpu_list = "7,GPU-ab-12,3";
	o.gpu_list_from = "CUDA_VISIBLE_DEVICES";
	o.ready.fn = count_ready;
	nready = 0;
	assert_int_equal(spawn_start(&s, &o, NULL, &err), HY_OK);
	assert_int_equal(nready, 2); /* one line a server, none printed */
	assert_int_equal(spawn_urls(s, &urls), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    sscanf(urls[i], "http://127.0.0.1:%d", &ports[i]), 1);
		assert_true(listening(ports[i]));
	}
	assert_int_not_equal(ports[0], ports[1]);
	/* Server i got the i-th visible GPU, in {gpu} and in its env. */
	snprintf(path, sizeof(path), "%s/gpu-GPU-ab-12", dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "GPU-ab-12\n");
	log_path(path, sizeof(path), dir, 0);
	assert_int_equal(access(path, R_OK), 0);
	spawn_stop(s);
	for (int i = 0; i < 2; i++)
		assert_false(listening(ports[i]));
}

static void test_server_exiting_is_named_with_status_and_log(void **state)
{
	struct spawn_opts o = {
	    .cmd = "echo starting; echo 'CUDA out of memory' >&2; exit 3 "
		   "# {port}",
	    .n = 2,
	    .timeout = 20,
	    .what = "image",
	};
	struct spawn *s = (struct spawn *)1;
	struct hy_err err = {0};

	(void)state;
	o.log_dir = dir;
	assert_int_equal(spawn_start(&s, &o, NULL, &err), HY_ECONFIG);
	assert_null(s);
	assert_non_null(strstr(err.msg, "image server "));
	assert_non_null(strstr(err.msg, "exited with status 3 before it was "
					"ready; last lines of "));
	assert_non_null(strstr(err.msg, "\n    starting\n    CUDA out of "
					"memory"));
}

static void test_without_log_dir_output_stays_on_stderr(void **state)
{
	struct spawn_opts o = {
	    .cmd = "exit 4 # {port}", .timeout = 20, .what = "LLM"};
	struct spawn *s = NULL;
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(spawn_start(&s, &o, NULL, &err), HY_ECONFIG);
	assert_non_null(strstr(err.msg, "LLM server 0 (`exit 4 # {port}`) "
					"exited with status 4"));
	assert_non_null(strstr(err.msg, "its output went to stderr"));
}

static void test_timeout_names_the_silent_servers(void **state)
{
	struct spawn_opts o = {.cmd = "sleep 20 # {port}",
			       .n = 3,
			       .health_path = "/v1/models",
			       .timeout = 0.5,
			       .what = "LLM"};
	struct spawn *s = NULL;
	struct hy_err err = {0};
	double t0 = now();

	(void)state;
	o.log_dir = dir;
	assert_int_equal(spawn_start(&s, &o, NULL, &err), HY_ECONFIG);
	assert_true(now() - t0 < 3); /* stop: SIGTERM ends sleep at once */
	assert_non_null(strstr(err.msg, "LLM servers 0, 1 and 2 "));
	assert_non_null(strstr(err.msg, "not ready after"));
	assert_non_null(strstr(err.msg, "/v1/models"));
}

static void test_too_few_gpus_is_config_error(void **state)
{
	struct spawn_opts o = {.cmd = HTTP_SERVER, .n = 3, .what = "LLM"};
	struct spawn *s = NULL;
	struct hy_err err = {0};

	(void)state;
	o.gpu_list_from = "CUDA_VISIBLE_DEVICES";
	o.gpu_list = "0,1";
	assert_int_equal(spawn_start(&s, &o, NULL, &err), HY_ECONFIG);
	assert_non_null(strstr(err.msg, "CUDA_VISIBLE_DEVICES='0,1' lists 2 "
					"GPUs"));
	o.gpu_list = "0;reboot";
	assert_int_equal(spawn_start(&s, &o, NULL, &err), HY_ECONFIG);
	assert_non_null(strstr(err.msg, "not a GPU index or UUID"));
	o.gpu_list = NULL;
	o.n = 0;
	o.gpus_on_node = "two";
	assert_int_equal(spawn_start(&s, &o, NULL, &err), HY_ECONFIG);
	assert_non_null(strstr(err.msg, "SLURM_GPUS_ON_NODE='two' is not "
					"a GPU count"));
}

/* The library reads no environment: the caller passes what it read. An
 * empty CUDA_VISIBLE_DEVICES would stop the start ("no GPU is visible");
 * unread, the server starts (and here exits). */
static void test_environment_is_not_read(void **state)
{
	struct spawn_opts o = {
	    .cmd = "exit 4 # {port}", .timeout = 20, .what = "LLM"};
	struct spawn *s = NULL;
	struct hy_err err = {0};

	(void)state;
	setenv("CUDA_VISIBLE_DEVICES", "", 1);
	setenv("SLURM_GPUS_ON_NODE", "0", 1);
	assert_int_equal(spawn_start(&s, &o, NULL, &err), HY_ECONFIG);
	assert_non_null(strstr(err.msg, "exited with status 4"));
	unsetenv("SLURM_GPUS_ON_NODE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_null_is_accepted),
	    cmocka_unit_test_setup_teardown(
		test_cmd_without_port_is_config_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_set_before_start, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_servers_get_ports_gpus_and_are_stopped, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_server_exiting_is_named_with_status_and_log, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_without_log_dir_output_stays_on_stderr, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_timeout_names_the_silent_servers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_few_gpus_is_config_error,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_environment_is_not_read, setup,
					    teardown),
	};
	int r;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
