#include "pairs.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "text.h"
#include "tsv.h"

#define PAIRS_MAX_LINE (3 * SNN_STREAM_MAX_ID + 256)

typedef struct {
    const char *name;
    size_t line;
    int topk; /* the file is snn-rank --topk output */
    fuse_pair *pairs;
    size_t count, cap;
} pair_reader;

static void add_pair(pair_reader *p, const fuse_items *img, const fuse_items *txt,
                     const char *image_id, const char *caption_id)
{
    const fuse_item *a = fuse_items_find(img, image_id), *b = fuse_items_find(txt, caption_id);
    if (!a || !b) {
        cli_error("%s: line %zu: %s '%s' is not in %s: the pairs must name records of the "
                  "streams given", p->name, p->line, a ? "caption" : "image",
                  a ? caption_id : image_id, a ? txt->name : img->name);
        exit(CLI_FAILED);
    }
    if (p->count == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        if (!(p->pairs = realloc(p->pairs, p->cap * sizeof *p->pairs))) {
            cli_error("out of memory for %zu pairs", p->count);
            exit(CLI_FAILED);
        }
    }
    p->pairs[p->count++] = (fuse_pair){a, b};
}

/* The first line may be a header: snn-rank's top-k header switches to that
 * format; "image<TAB>caption" is skipped. */
static int is_header(pair_reader *p, char **f, int n)
{
    if (n == 5 && strcmp(f[0], "direction") == 0 && strcmp(f[1], "query") == 0) {
        p->topk = 1;
        return 1;
    }
    return n == 2 && strcmp(f[0], "image") == 0 && strcmp(f[1], "caption") == 0;
}

static void parse_line(pair_reader *p, char *line, const fuse_items *img, const fuse_items *txt)
{
    char *f[6];
    int n = tsv_split(line, f, 5);
    if (n < 0) {
        cli_error("%s: line %zu: a backslash escape other than \\t \\n \\r \\\\", p->name,
                  p->line);
        exit(CLI_FAILED);
    }
    if (p->line == 1 && n > 0 && is_header(p, f, n))
        return;
    if (!p->topk && n == 2) {
        add_pair(p, img, txt, f[0], f[1]);
        return;
    }
    if (p->topk && n == 5 && (strcmp(f[0], "i2t") == 0 || strcmp(f[0], "t2i") == 0)) {
        int i2t = f[0][0] == 'i';
        add_pair(p, img, txt, i2t ? f[1] : f[3], i2t ? f[3] : f[1]);
        return;
    }
    char found[32];
    snprintf(found, sizeof found, n > 5 ? "more than 5 fields" : "%d field%s", n,
             n == 1 ? "" : "s");
    if (p->topk)
        cli_error("%s: line %zu: %s, expected 'i2t' or 't2i', query, rank, candidate and "
                  "score: pass the file of snn-rank --topk unchanged", p->name, p->line, found);
    else
        cli_error("%s: line %zu: %s, expected an image id and a caption id separated by a tab",
                  p->name, p->line, found);
    exit(CLI_FAILED);
}

static int pair_cmp(const void *a, const void *b)
{
    const fuse_pair *x = *(const fuse_pair *const *)a, *y = *(const fuse_pair *const *)b;
    if (x->img != y->img)
        return x->img < y->img ? -1 : 1;
    if (x->txt != y->txt)
        return x->txt < y->txt ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Drops later copies of a pair, keeping file order: sorting pointers to the
 * pairs puts copies next to each other, first line first. */
static void drop_repeats(pair_reader *p)
{
    const fuse_pair **order = malloc((p->count ? p->count : 1) * sizeof *order);
    unsigned char *repeat = calloc(p->count ? p->count : 1, 1);
    if (!order || !repeat) {
        cli_error("out of memory for %zu pairs", p->count);
        exit(CLI_FAILED);
    }
    for (size_t k = 0; k < p->count; k++)
        order[k] = &p->pairs[k];
    qsort(order, p->count, sizeof *order, pair_cmp);
    for (size_t k = 1; k < p->count; k++)
        if (order[k]->img == order[k - 1]->img && order[k]->txt == order[k - 1]->txt)
            repeat[order[k] - p->pairs] = 1;

    size_t unique = 0;
    for (size_t k = 0; k < p->count; k++)
        if (!repeat[k])
            p->pairs[unique++] = p->pairs[k];
    cli_debug("%s: %zu pairs, %zu repeated", p->name, unique, p->count - unique);
    p->count = unique;
    free(order);
    free(repeat);
}

fuse_pair *fuse_read_pairs(const char *path, const fuse_items *img, const fuse_items *txt,
                           size_t *count)
{
    pair_reader p = {.name = strcmp(path, "-") == 0 ? "standard input" : path};
    FILE *fp = cli_open_input(path);
    char *buf = NULL;
    size_t cap = 0, len;
    snn_error err;
    int rc;
    while ((rc = snn_read_line(fp, &buf, &cap, &len, PAIRS_MAX_LINE, &err)) == SNN_OK) {
        p.line++;
        if (len != strlen(buf)) {
            cli_error("%s: line %zu: contains a NUL byte", p.name, p.line);
            exit(CLI_FAILED);
        }
        parse_line(&p, buf, img, txt);
    }
    if (rc != SNN_EOF) {
        snn_fail_prefix(&err, "%s: line %zu", p.name, p.line + 1);
        cli_die(&err);
    }
    free(buf);
    if (fp != stdin)
        fclose(fp);
    if (p.count == 0) {
        cli_error("%s: no pairs to fuse: the file is empty or contains only a header", p.name);
        exit(CLI_FAILED);
    }
    drop_repeats(&p);
    *count = p.count;
    return p.pairs;
}
