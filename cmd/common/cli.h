/* Helpers shared by the snn-* programs: messages, checked number parsing, output
 * files, and the progress bar. Only programs use these; libsnn never prints. */
#ifndef SNN_CLI_H
#define SNN_CLI_H

#include <stdio.h>
#include <stdint.h>

#include "snn.h"

/* Exit statuses of every program. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

extern const char *cli_program; /* set by cli_init from argv[0] */
extern int cli_verbosity;       /* 0 with -q, 1 by default, 2+ with -v */

/* Records the program name and ignores SIGPIPE, so a closed pipe surfaces as
 * EPIPE, which the output functions turn into a quiet exit. May re-execute the
 * program once to set OMP_WAIT_POLICY (see cli.c). */
void cli_init(int argc, char **argv);

/* Prints "program: message" to stderr (when verbosity > 0 or always for errors). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "program: message" and "Try 'program --help'." and exits with status 2. */
void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Reports err as "program: message" and exits with status 1. */
void cli_die(const snn_error *err) __attribute__((noreturn));

/* Parse a whole decimal number in [min, max]; a bad value is a usage error
 * naming the option. */
long cli_parse_long(const char *option, const char *text, long min, long max);
double cli_parse_double(const char *option, const char *text, double min, double max);

/* Parses "i/n" for --shard: 0 <= i < n. */
void cli_parse_shard(const char *text, int *index, int *count);

/* Opens FILE for reading ("-" or NULL means stdin). Exits 1 with a message naming
 * the file when it cannot be opened. */
FILE *cli_open_input(const char *path);

/* An output that is written to a temporary file next to the target and renamed
 * over it on success, so an interrupted run leaves the previous file intact.
 * "-" or NULL writes to stdout; a device or FIFO is written in place. A temporary
 * file not yet committed is removed when the program exits. */
typedef struct {
    FILE *fp;
    char *path;     /* final name, NULL for stdout */
    char *tmp_path; /* temporary name, NULL for stdout */
} cli_output;

/* Opens an output; binary outputs are refused when stdout is a terminal. */
void cli_output_open(cli_output *out, const char *path, int binary);
/* Flushes, checks for write errors, fsyncs and renames; exits 1 on failure
 * (quietly with status 1 when stdout was a closed pipe). */
void cli_output_commit(cli_output *out);
/* Removes the temporary file after a failure. */
void cli_output_abort(cli_output *out);

/* Checks that writing stdout succeeded before exit. Call at the end of main. */
int cli_finish(int status);

/* A progress bar on stderr, drawn only when stderr is a terminal and verbosity > 0,
 * redrawn at most a few times per second. */
typedef struct {
    const char *label;
    uint64_t total, done;
    double started, last_draw;
    int active;
} cli_progress;

void cli_progress_start(cli_progress *p, const char *label, uint64_t total);
void cli_progress_update(cli_progress *p, uint64_t done);
void cli_progress_end(cli_progress *p);

/* Seconds from a monotonic clock. */
double cli_now(void);

/* Sets the thread count of OpenBLAS and OpenMP (0 keeps their defaults). */
void cli_set_threads(int threads);

#endif
