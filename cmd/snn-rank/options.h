/* Command-line options of snn-rank. */
#ifndef SNN_RANK_OPTIONS_H
#define SNN_RANK_OPTIONS_H

typedef struct {
    const char *images, *captions; /* stream paths, '-' for stdin */
    const char *output;            /* metrics table or JSON, NULL for stdout */
    const char *topk;              /* TSV of the k best candidates, or NULL */
    const char *rerank;            /* TSV of fused scores, '-' for stdin, or NULL */
    int k, json, mode, threads, allow_unmatched;
    int rerank_depth;              /* candidates re-ranked per query */
    double temperature;
} rank_options;

/* Parses argv into o; prints help or version and exits, exits 2 on usage errors. */
void rank_parse_options(rank_options *o, int argc, char **argv);

#endif
