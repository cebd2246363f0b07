/* askbench: the latency of the broker's `headers` answer (the token ask an
 * enforcer makes at injection time), measured from outside the enforcer.
 * It connects to the broker's IPC socket as a second enforcer would (same
 * uid: the broker checks SO_PEERCRED), says hello, then keeps K asks in
 * flight for N asks in all and prints p50 / p99 / max in microseconds.
 *
 *   askbench STATE_DIR/ipc.sock SECRET HOST [N=20000] [K=1] [SECONDS] [GAP_US]
 *
 * SECONDS stops it early (bench/run runs it next to a keep-alive load for
 * the length of that cell); GAP_US waits that long between asks (K=1), so
 * that it measures the answer under the load rather than being the load.
 *
 * Framing as common/ipc.h: 4-byte big-endian length, one JSON object. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX (16u * 1024 * 1024)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_frame(int fd, const char *json)
{
	uint32_t len = htonl((uint32_t)strlen(json));

	if (write_all(fd, &len, 4) < 0)
		return -1;
	return write_all(fd, json, strlen(json));
}

/* One frame as a JSON object; NULL at EOF or on a broken frame. */
static json_t *recv_frame(int fd)
{
	uint32_t len;
	char *buf;
	json_t *msg;

	if (read_all(fd, &len, 4) < 0)
		return NULL;
	len = ntohl(len);
	if (len == 0 || len > FRAME_MAX)
		return NULL;
	buf = malloc(len);
	if (!buf || read_all(fd, buf, len) < 0) {
		free(buf);
		return NULL;
	}
	msg = json_loadb(buf, len, 0, NULL);
	free(buf);
	return msg;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int send_ask(int fd, unsigned id, const char *secret, const char *host)
{
	json_t *ask = json_pack("{s:s, s:i, s:s, s:s}", "type", "headers", "id", (json_int_t)id,
				"secret", secret, "host", host);
	char *text = json_dumps(ask, JSON_COMPACT);
	int rc = send_frame(fd, text);

	free(text);
	json_decref(ask);
	return rc;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	unsigned n = 20000, k = 1, sent = 0, done = 0, errors = 0;
	double *start, *lat, seconds = 0, gap_us = 0;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: askbench IPC_SOCKET SECRET HOST [N] [K] [SECONDS] [GAP_US]\n");
		return 2;
	}
	if (argc > 4)
		n = (unsigned)strtoul(argv[4], NULL, 10);
	if (argc > 5)
		k = (unsigned)strtoul(argv[5], NULL, 10);
	if (argc > 6)
		seconds = strtod(argv[6], NULL);
	if (argc > 7)
		gap_us = strtod(argv[7], NULL);
	if (n == 0 || k == 0 || k > n || strlen(argv[1]) >= sizeof sun.sun_path) {
		fprintf(stderr, "askbench: bad arguments\n");
		return 2;
	}
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		perror("askbench: connect");
		return 1;
	}
	/* hello, then the policy snapshot the broker answers it with */
	if (send_frame(fd, "{\"type\":\"hello\",\"proto\":2,\"pid\":0}") < 0) {
		perror("askbench: hello");
		return 1;
	}
	start = calloc(n, sizeof *start);
	lat = calloc(n, sizeof *lat);
	if (!start || !lat)
		return 1;

	double t0 = now_us();
	while (done < n) {
		if (seconds > 0 && sent == done && now_us() - t0 > seconds * 1e6) {
			n = done;   /* time is up: report what was answered */
			break;
		}
		if (gap_us > 0 && sent == done && sent > 0) {
			struct timespec ts = { (time_t)(gap_us / 1e6), (long)((gap_us - (double)(time_t)(gap_us / 1e6) * 1e6) * 1e3) };
			nanosleep(&ts, NULL);
		}
		while (sent < n && sent - done < k) {
			start[sent] = now_us();
			if (send_ask(fd, sent + 1, argv[2], argv[3]) < 0) {
				perror("askbench: send");
				return 1;
			}
			sent++;
		}
		json_t *msg = recv_frame(fd);
		if (!msg) {
			fprintf(stderr, "askbench: the broker closed the connection\n");
			return 1;
		}
		const char *type = json_string_value(json_object_get(msg, "type"));
		json_int_t id = json_integer_value(json_object_get(msg, "id"));
		if (type && strcmp(type, "headers") == 0 && id >= 1 && (unsigned)id <= sent) {
			lat[done++] = now_us() - start[id - 1];
			if (json_object_get(msg, "error"))
				errors++;
		}
		/* policy pushes (after hello, after changes) are skipped */
		json_decref(msg);
	}
	if (n == 0) {
		fprintf(stderr, "askbench: no answer in time\n");
		return 1;
	}
	qsort(lat, n, sizeof *lat, cmp_double);
	printf("{\"asks\": %u, \"in_flight\": %u, \"errors\": %u, \"p50_us\": %.1f, "
	       "\"p99_us\": %.1f, \"max_us\": %.1f}\n",
	       n, k, errors, lat[n / 2], lat[(size_t)(n * 0.99)], lat[n - 1]);
	free(start);
	free(lat);
	close(fd);
	return errors ? 1 : 0;
}
