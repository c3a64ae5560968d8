#include "report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tsv.h"

static const char *mode_name(int mode)
{
    return mode == SNN_SIM_FINE ? "fine" : "global";
}

static void print_row(FILE *fp, const char *direction, const snn_recall *r)
{
    fprintf(fp, "%-13s %7.2f %7.2f %7.2f %7.1f %7.2f\n", direction, r->r1, r->r5, r->r10,
            r->median_rank, r->mean_rank);
}

/* Returns the --rerank path as the table shows it. */
static const char *rerank_name(const rank_options *o)
{
    return strcmp(o->rerank, "-") == 0 ? "standard input" : o->rerank;
}

void rank_print_table(FILE *fp, const snn_metrics *m, const rank_options *o)
{
    if (o->rerank)
        fprintf(fp, "re-ranked: the top %d of every query by fused scores from %s\n",
                o->rerank_depth, rerank_name(o));
    fprintf(fp, "images: %zu  captions: %zu  similarity: %s", m->images, m->captions,
            mode_name(o->mode));
    if (o->mode == SNN_SIM_FINE)
        fprintf(fp, " (temperature %g)", o->temperature);
    fprintf(fp, "\n\n%-13s %7s %7s %7s %7s %7s\n", "direction", "R@1", "R@5", "R@10", "medR",
            "meanR");
    print_row(fp, "image-to-text", &m->i2t);
    print_row(fp, "text-to-image", &m->t2i);
    fprintf(fp, "%-13s %7.2f\n", "rSum", m->rsum);
}

static json_t *recall_json(const snn_recall *r)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f}", "r1", r->r1, "r5", r->r5, "r10", r->r10,
                     "median_rank", r->median_rank, "mean_rank", r->mean_rank);
}

int rank_print_json(FILE *fp, const snn_metrics *m, const rank_options *o)
{
    json_t *root = json_pack("{s:I, s:I, s:s}", "images", (json_int_t)m->images, "captions",
                             (json_int_t)m->captions, "similarity", mode_name(o->mode));
    if (root && o->mode == SNN_SIM_FINE)
        json_object_set_new(root, "temperature", json_real(o->temperature));
    if (root && o->rerank)
        json_object_set_new(root, "rerank", json_pack("{s:s, s:i}", "file", o->rerank, "depth",
                                                      o->rerank_depth));
    if (root) {
        json_object_set_new(root, "i2t", recall_json(&m->i2t));
        json_object_set_new(root, "t2i", recall_json(&m->t2i));
        json_object_set_new(root, "rsum", json_real(m->rsum));
    }
    /* 10 significant digits: exact for ranks, and no binary noise such as
     * 66.666666666666671 in recall percentages. */
    int rc = root ? json_dumpf(root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER
                                         | JSON_REAL_PRECISION(10)) : -1;
    if (rc == 0)
        fputc('\n', fp);
    json_decref(root);
    return rc;
}

static void put_line(FILE *fp, const char *direction, const char *query, int rank,
                     const char *candidate, double score)
{
    fprintf(fp, "%s\t", direction);
    tsv_put_field(fp, query);
    fprintf(fp, "\t%d\t", rank);
    tsv_put_field(fp, candidate);
    fprintf(fp, "\t%.6g\n", score);
}

/* The score shown for image i and caption j at a 1-based rank: the fused score
 * within the re-ranked depth, else the similarity. */
static double shown_score(const rank_topk_source *src, const float *sim, size_t Nt, size_t i,
                          size_t j, int rank)
{
    double fused;
    if (src->fused && rank <= src->depth && rank_scores_find(src->fused, i, j, &fused))
        return fused;
    return (double)sim[i * Nt + j];
}

int rank_write_topk(FILE *fp, const rank_topk_source *src, const rank_sets *img,
                    const rank_sets *txt, int k)
{
    size_t Ni = img->count, Nt = txt->count;
    int ki = k < (int)Nt ? k : (int)Nt, kt = k < (int)Ni ? k : (int)Ni;
    int *idx = malloc(sizeof *idx * (size_t)(ki > kt ? ki : kt));
    float *column = malloc(sizeof *column * Ni);
    if (!idx || !column) {
        free(idx);
        free(column);
        return -1;
    }

    fprintf(fp, "direction\tquery\trank\tcandidate\tscore\n");
    for (size_t i = 0; i < Ni; i++) {
        snn_topk(idx, src->i2t + i * Nt, (int)Nt, ki);
        for (int r = 0; r < ki; r++)
            put_line(fp, "i2t", img->ids[i], r + 1, txt->ids[idx[r]],
                     shown_score(src, src->i2t, Nt, i, (size_t)idx[r], r + 1));
    }
    for (size_t j = 0; j < Nt; j++) {
        for (size_t i = 0; i < Ni; i++)
            column[i] = src->t2i[i * Nt + j];
        snn_topk(idx, column, (int)Ni, kt);
        for (int r = 0; r < kt; r++)
            put_line(fp, "t2i", txt->ids[j], r + 1, img->ids[idx[r]],
                     shown_score(src, src->t2i, Nt, (size_t)idx[r], j, r + 1));
    }
    free(idx);
    free(column);
    return 0;
}
