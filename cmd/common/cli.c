#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cblas.h>

const char *cli_program = "snn";
int cli_verbosity = 1;

void cli_init(int argc, char **argv)
{
    const char *argv0 = argc > 0 ? argv[0] : NULL;
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    cli_program = slash ? slash + 1 : (argv0 ? argv0 : "snn");
    signal(SIGPIPE, SIG_IGN);

    /* libgomp reads OMP_WAIT_POLICY once, when it loads. Its default, spinning
     * between parallel regions, took three quarters of the CPU time of training
     * on 2 busy cores, so the program restarts itself once with the passive
     * policy unless the user chose one. */
    if (!getenv("OMP_WAIT_POLICY") && argc > 0) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
        /* Without /proc the program runs on with the default policy. */
    }
}

static void vprint(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", cli_program);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

void cli_info(const char *fmt, ...)
{
    if (cli_verbosity < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

void cli_debug(const char *fmt, ...)
{
    if (cli_verbosity < 2)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", cli_program);
    exit(CLI_USAGE);
}

void cli_die(const snn_error *err)
{
    cli_error("%s", err->msg);
    exit(CLI_FAILED);
}

long cli_parse_long(const char *option, const char *text, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0')
        cli_usage_error("invalid number for %s: '%s'", option, text);
    if (v < min || v > max)
        cli_usage_error("%s must be between %ld and %ld, got %ld", option, min, max, v);
    return v;
}

double cli_parse_double(const char *option, const char *text, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(v))
        cli_usage_error("invalid number for %s: '%s'", option, text);
    if (v < min || v > max)
        cli_usage_error("%s must be between %g and %g, got %g", option, min, max, v);
    return v;
}

void cli_parse_shard(const char *text, int *index, int *count)
{
    const char *slash = strchr(text, '/');
    if (!slash)
        cli_usage_error("invalid --shard '%s': expected I/N, e.g. 0/4", text);
    char head[32];
    size_t n = (size_t)(slash - text);
    if (n == 0 || n >= sizeof head)
        cli_usage_error("invalid --shard '%s': expected I/N, e.g. 0/4", text);
    memcpy(head, text, n);
    head[n] = '\0';
    *count = (int)cli_parse_long("--shard count", slash + 1, 1, 1000000);
    *index = (int)cli_parse_long("--shard index", head, 0, *count - 1);
}

FILE *cli_open_input(const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return stdin;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        exit(CLI_FAILED);
    }
    return fp;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (!d) {
        cli_error("out of memory");
        exit(CLI_FAILED);
    }
    return memcpy(d, s, n);
}

/* Outputs not yet committed; their temporary files are removed at exit, so a run
 * that fails through exit() leaves no partial file behind. */
#define MAX_OPEN_OUTPUTS 8
static cli_output *open_outputs[MAX_OPEN_OUTPUTS];

static void remove_open_outputs(void)
{
    for (int i = 0; i < MAX_OPEN_OUTPUTS; i++)
        if (open_outputs[i] && open_outputs[i]->tmp_path)
            unlink(open_outputs[i]->tmp_path);
}

static void track_output(cli_output *out, int open)
{
    static int registered;
    if (!registered) {
        atexit(remove_open_outputs);
        registered = 1;
    }
    for (int i = 0; i < MAX_OPEN_OUTPUTS; i++) {
        if (open && !open_outputs[i]) {
            open_outputs[i] = out;
            return;
        }
        if (!open && open_outputs[i] == out)
            open_outputs[i] = NULL;
    }
}

void cli_output_open(cli_output *out, const char *path, int binary)
{
    memset(out, 0, sizeof *out);
    if (!path || strcmp(path, "-") == 0) {
        if (binary && isatty(STDOUT_FILENO)) {
            cli_error("refusing to write binary data to a terminal: redirect stdout or use -o FILE");
            exit(CLI_USAGE);
        }
        out->fp = stdout;
        return;
    }

    /* A device or FIFO is written in place: renaming over it would replace it. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        out->fp = fopen(path, "wb");
        if (!out->fp) {
            cli_error("cannot open %s: %s", path, strerror(errno));
            exit(CLI_FAILED);
        }
        return;
    }

    out->path = dup_string(path);
    size_t n = strlen(path) + 32;
    out->tmp_path = malloc(n);
    if (!out->tmp_path) {
        cli_error("out of memory");
        exit(CLI_FAILED);
    }
    snprintf(out->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    out->fp = fopen(out->tmp_path, "wb");
    if (!out->fp) {
        cli_error("cannot create %s: %s", out->tmp_path, strerror(errno));
        exit(CLI_FAILED);
    }
    track_output(out, 1);
}

static void exit_for_write_error(const char *what)
{
    if (errno == EPIPE)
        exit(CLI_FAILED); /* the reader went away: end quietly */
    cli_error("write failed: %s: %s", what, strerror(errno));
    exit(CLI_FAILED);
}

void cli_output_commit(cli_output *out)
{
    if (!out->path) {
        if (fflush(out->fp) != 0 || ferror(out->fp))
            exit_for_write_error("the output");
        if (out->fp != stdout && fclose(out->fp) != 0)
            exit_for_write_error("the output");
        return;
    }
    errno = 0;
    if (fflush(out->fp) != 0 || ferror(out->fp) || fsync(fileno(out->fp)) != 0) {
        int saved = errno;
        fclose(out->fp);
        unlink(out->tmp_path);
        errno = saved;
        exit_for_write_error(out->path);
    }
    if (fclose(out->fp) != 0) {
        unlink(out->tmp_path);
        exit_for_write_error(out->path);
    }
    if (rename(out->tmp_path, out->path) != 0) {
        cli_error("cannot rename %s to %s: %s", out->tmp_path, out->path, strerror(errno));
        unlink(out->tmp_path);
        exit(CLI_FAILED);
    }
    track_output(out, 0);
    free(out->path);
    free(out->tmp_path);
    memset(out, 0, sizeof *out);
}

void cli_output_abort(cli_output *out)
{
    track_output(out, 0);
    if (out->path) {
        fclose(out->fp);
        unlink(out->tmp_path);
        free(out->path);
        free(out->tmp_path);
    }
    memset(out, 0, sizeof *out);
}

int cli_finish(int status)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            cli_error("write failed: standard output: %s", strerror(errno));
        return CLI_FAILED;
    }
    return status;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_start(cli_progress *p, const char *label, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->started = cli_now();
    p->active = cli_verbosity > 0 && isatty(STDERR_FILENO);
}

void cli_progress_update(cli_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->active)
        return;
    double now = cli_now();
    if (now - p->last_draw < 0.25 && done < p->total)
        return;
    p->last_draw = now;

    const int width = 30;
    double frac = p->total ? (double)done / (double)p->total : 0.0;
    if (frac > 1.0)
        frac = 1.0;
    int filled = (int)(frac * width);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';

    double elapsed = now - p->started;
    double eta = frac > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
    fprintf(stderr, "\r%s [%s] %llu/%llu %.0fs left ", p->label, bar,
            (unsigned long long)done, (unsigned long long)p->total, eta);
}

void cli_progress_end(cli_progress *p)
{
    if (p->active)
        fprintf(stderr, "\r\033[K");
    p->active = 0;
}

void cli_set_threads(int threads)
{
    if (threads <= 0)
        return;
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
}
