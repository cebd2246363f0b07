/* Tiny helpers for airlock's C unit tests: CHECK(cond, fmt, ...) counts and
 * prints each failure with file:line; unit_finish() prints the tally and is
 * main's return value (1 on any failure). Tests are tables walked in loops. */
#ifndef AIRLOCK_UNIT_H
#define AIRLOCK_UNIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int unit_checks;
static int unit_failures;

static inline void unit_check(bool ok, const char *file, int line, const char *expr,
			      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline void unit_check(bool ok, const char *file, int line, const char *expr,
			      const char *fmt, ...)
{
	va_list ap;

	unit_checks++;
	if (ok)
		return;
	unit_failures++;
	fprintf(stderr, "%s:%d: CHECK(%s) failed:", file, line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* CHECK(cond) or CHECK(cond, "fmt", args...): the message says which row. */
#define CHECK(cond, ...) unit_check(!!(cond), __FILE__, __LINE__, #cond, " " __VA_ARGS__)

/* Strings compared with a readable message; NULL-safe. ctx names the row. */
#define CHECK_STR(got, want, ctx)                                                          \
	do {                                                                               \
		const char *unit_g_ = (got), *unit_w_ = (want);                            \
		CHECK(unit_g_ && unit_w_ && strcmp(unit_g_, unit_w_) == 0,                 \
		      "%s: got \"%s\" want \"%s\"", (ctx), unit_g_ ? unit_g_ : "(null)",   \
		      unit_w_ ? unit_w_ : "(null)");                                       \
	} while (0)

static inline int unit_finish(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, unit_checks, unit_failures);
	return unit_failures ? 1 : 0;
}

#endif
