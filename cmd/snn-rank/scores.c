/* Reading the fused scores of snn-fuse --score for --rerank. */
#include "scores.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsv.h"

#define SCORES_HEADER "image\tcaption\tscore"
/* The optional first line: the fingerprint of the model that fused the pairs. */
#define SCORES_MODEL_LINE "# model "

typedef struct {
    const char *id;
    size_t index;
} id_entry;

/* The state of one rank_scores_read call. */
typedef struct {
    rank_scores *s;
    const rank_sets *side[2]; /* images, captions */
    id_entry *sorted[2];      /* the ids of each side, sorted for bsearch */
    size_t cap;
} score_reader;

static int compare_ids(const void *a, const void *b)
{
    return strcmp(((const id_entry *)a)->id, ((const id_entry *)b)->id);
}

/* Returns the ids of sets sorted for bsearch, or NULL when out of memory. */
static id_entry *sort_ids(const rank_sets *sets)
{
    id_entry *sorted = snn_alloc(sets->count ? sets->count : 1, sizeof *sorted);
    if (!sorted)
        return NULL;
    for (size_t k = 0; k < sets->count; k++)
        sorted[k] = (id_entry){sets->ids[k], k};
    qsort(sorted, sets->count, sizeof *sorted, compare_ids);
    return sorted;
}

/* Finds id among the sorted ids of one side and stores its set index in *index. */
static int lookup_id(const score_reader *r, int side, const char *id, size_t *index)
{
    id_entry key = {id, 0};
    const id_entry *hit = bsearch(&key, r->sorted[side], r->side[side]->count,
                                  sizeof key, compare_ids);
    if (hit)
        *index = hit->index;
    return hit != NULL;
}

static int append_pair(score_reader *r, rank_pair_score pair, snn_error *err)
{
    rank_scores *s = r->s;
    if (s->count == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 4096;
        rank_pair_score *grown = cap <= SIZE_MAX / sizeof *grown
                                     ? realloc(s->pairs, cap * sizeof *grown) : NULL;
        if (!grown)
            return snn_fail(err, SNN_ENOMEM, "%s: out of memory for %zu fused scores", s->name,
                            cap);
        s->pairs = grown;
        r->cap = cap;
    }
    s->pairs[s->count++] = pair;
    return SNN_OK;
}

/* Parses one `image caption score` line (without its newline). */
static int parse_line(score_reader *r, char *line, size_t number, snn_error *err)
{
    static const char *side_name[2] = {"image", "caption"};
    const char *name = r->s->name;
    char *field[3];
    int n = tsv_split(line, field, 3);
    if (n < 0)
        return snn_fail(err, SNN_EFORMAT, "%s: line %zu: invalid escape: only \\t, \\n, \\r "
                        "and \\\\ are defined", name, number);
    if (n != 3)
        return snn_fail(err, SNN_EFORMAT, "%s: line %zu: expected 3 tab-separated fields "
                        "(image, caption, score), got %s%d: pass the output of snn-fuse --score",
                        name, number, n > 3 ? "more than " : "", n > 3 ? 3 : n);

    char *end;
    errno = 0;
    double score = strtod(field[2], &end);
    if (end == field[2] || *end || errno == ERANGE || !isfinite(score))
        return snn_fail(err, SNN_EFORMAT, "%s: line %zu: invalid score '%s': expected a finite "
                        "number", name, number, field[2]);

    size_t index[2];
    for (int side = 0; side < 2; side++)
        if (!lookup_id(r, side, field[side], &index[side]))
            return snn_fail(err, SNN_EFORMAT, "%s: line %zu: %s id '%s' is not in %s: score "
                            "the snn-rank --topk list of these streams", name, number,
                            side_name[side], field[side], r->side[side]->name);
    return append_pair(r, (rank_pair_score){index[0], index[1], score, number}, err);
}

/* Checks a "# model HEX" line against the streams' model. */
static int check_model_line(const score_reader *r, const char *line, snn_error *err)
{
    uint64_t stream_model = r->side[0]->info.model_fingerprint, model;
    char end;
    if (sscanf(line + strlen(SCORES_MODEL_LINE), "%16" SCNx64 "%c", &model, &end) != 1)
        return snn_fail(err, SNN_EFORMAT, "%s: line 1: invalid model line '%s': expected "
                        "'# model' and 16 hex digits", r->s->name, line);
    if (model != stream_model)
        return snn_fail(err, SNN_EMODEL, "%s: scores of another model (fingerprint %016" PRIx64
                        ", the streams have %016" PRIx64 "): run snn-fuse with the model "
                        "that encoded the streams", r->s->name, model, stream_model);
    return SNN_OK;
}

/* Reads the optional model line, the header and every line of fp. Lines may
 * end in CRLF. */
static int read_lines(score_reader *r, FILE *fp, snn_error *err)
{
    char *line = NULL;
    size_t size = 0, number = 0, header = 1;
    ssize_t length;
    int rc = SNN_OK;
    while (!rc && (length = getline(&line, &size, fp)) >= 0) {
        number++;
        if (length > 0 && line[length - 1] == '\n')
            line[--length] = '\0';
        if (length > 0 && line[length - 1] == '\r')
            line[--length] = '\0';
        if (number == 1 && strncmp(line, SCORES_MODEL_LINE, strlen(SCORES_MODEL_LINE)) == 0) {
            rc = check_model_line(r, line, err);
            header = 2;
        } else if (number > header) {
            rc = parse_line(r, line, number, err);
        } else if (strcmp(line, SCORES_HEADER) != 0) {
            rc = snn_fail(err, SNN_EFORMAT, "%s: line %zu: expected the header "
                          "image<TAB>caption<TAB>score: pass the output of snn-fuse --score",
                          r->s->name, number);
        }
    }
    free(line);

    if (!rc && ferror(fp))
        rc = snn_fail(err, SNN_EIO, "%s: read failed: %s", r->s->name, strerror(errno));
    if (!rc && number < header)
        rc = snn_fail(err, SNN_EFORMAT, "%s: %s: expected the header "
                      "image<TAB>caption<TAB>score: pass the output of snn-fuse --score",
                      r->s->name, number ? "no header after the model line" : "empty file");
    return rc;
}

/* Orders pairs by image, then caption. */
static int compare_pair_ids(const rank_pair_score *x, const rank_pair_score *y)
{
    if (x->image != y->image)
        return x->image < y->image ? -1 : 1;
    return (x->caption > y->caption) - (x->caption < y->caption);
}

/* Orders pairs by image, then caption, then line. */
static int compare_pairs(const void *a, const void *b)
{
    const rank_pair_score *x = a, *y = b;
    int c = compare_pair_ids(x, y);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Sorts the pairs and keeps the first line of each, failing when a repeat
 * has another score. Pairs still hold set indices here, so messages name ids. */
static int merge_duplicates(score_reader *r, snn_error *err)
{
    rank_scores *s = r->s;
    qsort(s->pairs, s->count, sizeof *s->pairs, compare_pairs);

    size_t unique = 0;
    for (size_t k = 0; k < s->count; k++) {
        rank_pair_score *last = unique ? &s->pairs[unique - 1] : NULL, *p = &s->pairs[k];
        if (!last || compare_pair_ids(last, p) != 0) {
            s->pairs[unique++] = *p;
            continue;
        }
        if (last->score != p->score)
            return snn_fail(err, SNN_EFORMAT, "%s: lines %zu and %zu give image '%s' and "
                            "caption '%s' different scores (%.6g and %.6g): keep one score "
                            "per pair", s->name, last->line, p->line,
                            r->side[0]->ids[p->image], r->side[1]->ids[p->caption],
                            last->score, p->score);
    }
    s->count = unique;
    return SNN_OK;
}

int rank_scores_read(rank_scores *s, const char *path, const rank_sets *img,
                     const rank_sets *txt, snn_error *err)
{
    memset(s, 0, sizeof *s);
    int from_stdin = strcmp(path, "-") == 0;
    s->name = from_stdin ? "standard input" : path;
    FILE *fp = from_stdin ? stdin : fopen(path, "r");
    if (!fp)
        return snn_fail(err, SNN_EIO, "%s: cannot open: %s", path, strerror(errno));

    score_reader r = {s, {img, txt}, {sort_ids(img), sort_ids(txt)}, 0};
    int rc = r.sorted[0] && r.sorted[1]
                 ? read_lines(&r, fp, err)
                 : snn_fail(err, SNN_ENOMEM, "out of memory for sorting %zu + %zu ids",
                            img->count, txt->count);
    if (!rc)
        rc = merge_duplicates(&r, err);

    /* Record numbers survive rank_match_keys, which renumbers the sets. */
    for (size_t k = 0; !rc && k < s->count; k++) {
        s->pairs[k].image = img->record[s->pairs[k].image];
        s->pairs[k].caption = txt->record[s->pairs[k].caption];
    }
    free(r.sorted[0]);
    free(r.sorted[1]);
    if (!from_stdin)
        fclose(fp);
    return rc;
}

/* Finds record number in the increasing record numbers of sets. */
static int find_record(const rank_sets *sets, size_t record, size_t *index)
{
    size_t low = 0, high = sets->count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (sets->record[mid] < record)
            low = mid + 1;
        else
            high = mid;
    }
    *index = low;
    return low < sets->count && sets->record[low] == record;
}

void rank_scores_index(rank_scores *s, const rank_sets *img, const rank_sets *txt)
{
    /* Both mappings keep the order, so the pairs stay sorted. */
    size_t remaining = 0;
    for (size_t k = 0; k < s->count; k++) {
        rank_pair_score p = s->pairs[k];
        if (find_record(img, p.image, &p.image) && find_record(txt, p.caption, &p.caption))
            s->pairs[remaining++] = p;
    }
    s->count = remaining;
}

int rank_scores_find(const rank_scores *s, size_t image, size_t caption, double *score)
{
    rank_pair_score key = {image, caption, 0.0, 0};
    size_t low = 0, high = s->count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (compare_pair_ids(&s->pairs[mid], &key) < 0)
            low = mid + 1;
        else
            high = mid;
    }
    if (low == s->count || compare_pair_ids(&s->pairs[low], &key) != 0)
        return 0;
    *score = s->pairs[low].score;
    return 1;
}

void rank_scores_free(rank_scores *s)
{
    free(s->pairs);
    memset(s, 0, sizeof *s);
}
