/* snn-tokenize: turns captions (one per line, or a dataset JSON split) into a
 * token stream for snn-encode-txt, or learns a vocabulary from them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stream.h"
#include "text.h"

typedef struct {
    const char *vocab, *output, *dataset, *split;
    int build_vocab, text, min_count, split_given;
    long vocab_size, max_length;
    char **files;
    int n_files;
} options;

/* State of one run: where captions go and what was counted. */
typedef struct {
    const options *opt;
    snn_vocab *vocab;             /* tokenising */
    snn_vocab_builder *builder;   /* --build-vocab */
    cli_output out;
    snn_stream_writer *writer;    /* stream output */
    uint32_t *ids;
    size_t captions, tokens, unknown, truncated;
    long unk_id;
} run;

static void usage(void)
{
    printf("Usage: snn-tokenize --vocab VOCAB [options] [CAPTIONS.txt...]\n"
           "       snn-tokenize --vocab VOCAB --dataset FILE [--split NAME] [options]\n"
           "       snn-tokenize --build-vocab [options] (CAPTIONS.txt... | --dataset FILE)\n"
           "Tokenise captions into a token stream for snn-encode-txt, with BERT's uncased\n"
           "basic tokeniser and WordPiece.\n\n"
           "Input (one of):\n"
           "  CAPTIONS.txt...       one caption per line ['-' or none: stdin]; the record\n"
           "                        id and key are FILE:LINE, or LINE for stdin\n"
           "  --dataset FILE        dataset JSON (Karpathy layout); one record per sentid,\n"
           "                        keyed by the image's \"group\" or imgid\n"
           "  --split NAME[,NAME]   dataset splits to read, e.g. train,restval [test]\n"
           "Options:\n"
           "  --vocab FILE          BERT vocab.txt, one token per line\n"
           "  --max-length N        tokens kept per caption; longer ones are cut [32]\n"
           "  --text                print 'ID<TAB>TOKENS' lines instead of a stream\n"
           "  --build-vocab         learn a vocabulary from the captions and write it\n"
           "                        as vocab.txt instead of a stream\n"
           "  --vocab-size N        with --build-vocab: maximum entries [8000]\n"
           "  --min-count N         with --build-vocab: minimum count of a whole word [1]\n"
           "  -o, --output FILE     output file ['-': stdout]\n"
           "  -q, --quiet           print errors only\n"
           "  -v, --verbose         print counts at the end\n"
           "  -h, --help            print this help\n"
           "      --version         print the version\n");
}

static void check_options(options *o, int argc, char **argv)
{
    o->files = argv + optind;
    o->n_files = argc - optind;
    if (o->dataset && o->n_files > 0)
        cli_usage_error("give caption files or --dataset, not both");
    if (o->split_given && !o->dataset)
        cli_usage_error("--split needs --dataset");
    if (o->build_vocab && o->vocab)
        cli_usage_error("--build-vocab writes a vocabulary: drop --vocab");
    if (o->build_vocab && o->text)
        cli_usage_error("--build-vocab writes a vocabulary: drop --text");
    if (o->build_vocab && o->dataset && !o->split_given)
        cli_usage_error("--build-vocab with --dataset needs --split, e.g. --split train, "
                        "so that test captions stay unseen");
    if (!o->build_vocab && !o->vocab)
        cli_usage_error("missing --vocab FILE (or --build-vocab to learn one)");
}

static void parse(options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"vocab", required_argument, 0, 'W'}, {"output", required_argument, 0, 'o'},
        {"dataset", required_argument, 0, 'D'}, {"split", required_argument, 0, 'S'},
        {"max-length", required_argument, 0, 'L'}, {"text", no_argument, 0, 't'},
        {"build-vocab", no_argument, 0, 'B'}, {"vocab-size", required_argument, 0, 'N'},
        {"min-count", required_argument, 0, 'M'}, {"quiet", no_argument, 0, 'q'},
        {"verbose", no_argument, 0, 'v'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'}, {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->split = "test";
    o->max_length = 32;
    o->vocab_size = 8000;
    o->min_count = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'W': o->vocab = optarg; break;
        case 'o': o->output = optarg; break;
        case 'D': o->dataset = optarg; break;
        case 'S': o->split = optarg; o->split_given = 1; break;
        case 'L':
            o->max_length = cli_parse_long("--max-length", optarg, 1, SNN_STREAM_MAX_ROWS);
            break;
        case 't': o->text = 1; break;
        case 'B': o->build_vocab = 1; break;
        case 'N':
            o->vocab_size = cli_parse_long("--vocab-size", optarg, 5, SNN_VOCAB_MAX_SIZE);
            break;
        case 'M': o->min_count = (int)cli_parse_long("--min-count", optarg, 1, 1000000000); break;
        case 'q': cli_verbosity = 0; break;
        case 'v': cli_verbosity++; break;
        case 'h': usage(); exit(CLI_OK);
        case 'V': printf("snn-tokenize snn-itr %s\n", SNN_VERSION); exit(CLI_OK);
        case ':': cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        default: cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    check_options(o, argc, argv);
}

/* Ends a failed run: removes a partly written output file, prints, exits 1. */
static void fail(run *r, const snn_error *err)
{
    cli_output_abort(&r->out);
    cli_die(err);
}

static int stop_at_first_word(const char *word, void *ctx)
{
    (void)word;
    (void)ctx;
    return 1;
}

/* Returns 1 when text has at least one basic token; errors as snn_basic_tokenize. */
static int has_words(const char *text, snn_error *err)
{
    int rc = snn_basic_tokenize(text, stop_at_first_word, NULL, err);
    return rc < 0 ? rc : rc == 1;
}

static void write_text(run *r, const char *id, size_t n)
{
    FILE *fp = r->out.fp;
    fputs(id, fp);
    for (size_t i = 0; i < n; i++) {
        putc(i ? ' ' : '\t', fp);
        fputs(snn_vocab_token(r->vocab, r->ids[i]), fp);
    }
    putc('\n', fp);
}

static void write_record(run *r, const char *id, const char *key, size_t n)
{
    snn_record rec = {.id = id, .key = key, .n = (uint32_t)n, .tokens = r->ids};
    snn_error err;
    if (snn_stream_write(r->writer, &rec, &err) != SNN_OK) {
        if (ferror(r->out.fp))
            cli_output_commit(&r->out); /* exits, quietly for a closed pipe */
        snn_fail_prefix(&err, "writing record %s", id);
        fail(r, &err);
    }
}

/* Returns SNN_OK, an error, or 0 words through *n for an empty caption. */
static int tokenize_and_write(run *r, const char *id, const char *key, const char *text,
                              size_t *n, snn_error *err)
{
    int truncated;
    int rc = snn_tokenize(r->ids, (size_t)r->opt->max_length, n, &truncated, r->vocab, text,
                          err);
    if (rc != SNN_OK || *n == 0)
        return rc;

    r->tokens += *n;
    r->truncated += (size_t)truncated;
    for (size_t i = 0; i < *n; i++)
        r->unknown += (long)r->ids[i] == r->unk_id;
    if (r->opt->text)
        write_text(r, id, *n);
    else
        write_record(r, id, key, *n);
    return SNN_OK;
}

/* Tokenises one caption and writes it, or counts it for --build-vocab. where
 * names the caption in messages ("FILE:LINE", "FILE: images[I].sentences[J]"). */
static void handle_caption(run *r, const char *where, const char *id, const char *key,
                           const char *text)
{
    snn_error err;
    size_t words = 0;
    int rc;
    if (r->builder) {
        rc = has_words(text, &err); /* 1, 0 (== SNN_OK) or an error */
        words = rc == 1;
        if (words)
            rc = snn_vocab_builder_add(r->builder, text, &err);
    } else {
        rc = tokenize_and_write(r, id, key, text, &words, &err);
    }
    /* A caption of spaces or control characters alone has no tokens either. */
    if (rc == SNN_OK && words == 0)
        rc = snn_fail(&err, SNN_EFORMAT, "empty caption: write a caption there or remove it");
    if (rc != SNN_OK) {
        snn_fail_prefix(&err, "%s", where);
        fail(r, &err);
    }
    r->captions++;

    /* Stops early when the output failed, e.g. a reader closed the pipe. */
    if (r->out.fp && ferror(r->out.fp))
        cli_output_commit(&r->out);
}

/* Reads one caption file; "-" is stdin, whose ids are bare line numbers. */
static void read_lines(run *r, const char *path)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    snn_error err;
    if (!fp) {
        snn_fail(&err, SNN_EIO, "cannot open %s: %s", path, strerror(errno));
        fail(r, &err);
    }
    if (strlen(path) > SNN_STREAM_MAX_ID - 24) {
        snn_fail(&err, SNN_EINVAL, "file name of %zu bytes is too long to make record ids "
                 "from: rename or link the file", strlen(path));
        fail(r, &err);
    }

    char *line = NULL, where[SNN_STREAM_MAX_ID], id[SNN_STREAM_MAX_ID];
    size_t cap = 0, len;
    unsigned long lineno = 0;
    int rc;
    while ((rc = snn_read_line(fp, &line, &cap, &len, SNN_TEXT_MAX_BYTES, &err)) == SNN_OK) {
        lineno++;
        snprintf(where, sizeof where, "%s:%lu", name, lineno);
        if (is_stdin)
            snprintf(id, sizeof id, "%lu", lineno);
        else
            snprintf(id, sizeof id, "%s:%lu", path, lineno);
        if (strlen(line) != len) {
            snn_fail(&err, SNN_EFORMAT, "%s: contains a NUL byte: expected UTF-8 text", where);
            fail(r, &err);
        }
        handle_caption(r, where, id, id, line);
    }
    if (rc != SNN_EOF) {
        snn_fail_prefix(&err, "%s:%lu", name, lineno + 1);
        fail(r, &err);
    }
    free(line);
    if (!is_stdin)
        fclose(fp);
}

/* A caption of the dataset, by position; skip marks a repeat of an earlier one. */
typedef struct {
    long sentid;
    size_t image, sentence, order;
    int skip;
} caption_ref;

/* Returns 1 when split is one of the comma-separated names in list. */
static int split_selected(const char *list, const char *split)
{
    size_t n = strlen(split);
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && memcmp(p, split, n) == 0)
            return 1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* Reports a split selection without images, listing the splits the file has. */
static void die_no_images(const options *o, const snn_dataset *d)
{
    char names[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < d->n_images; i++) {
        const char *s = d->images[i].split;
        if (used && split_selected(names, s))
            continue;
        int wrote = snprintf(names + used, sizeof names - used, "%s%s", used ? "," : "", s);
        if (wrote < 0 || (size_t)wrote >= sizeof names - used) {
            names[used] = '\0';
            break;
        }
        used += (size_t)wrote;
    }
    if (d->n_images == 0)
        cli_error("%s: the dataset has no images", o->dataset);
    else
        cli_error("%s: no images in split \"%s\": use --split with one of %s", o->dataset,
                  o->split, names);
    exit(CLI_FAILED);
}

/* Lists the captions of the selected splits in file order. */
static caption_ref *collect_captions(const options *o, const snn_dataset *d, size_t *n_out)
{
    size_t n = 0, images = 0;
    for (size_t i = 0; i < d->n_images; i++)
        if (split_selected(o->split, d->images[i].split)) {
            n += d->images[i].n_sentences;
            images++;
        }
    if (images == 0)
        die_no_images(o, d);

    caption_ref *refs = snn_zalloc(n, sizeof *refs);
    if (!refs) {
        cli_error("out of memory for %zu captions", n);
        exit(CLI_FAILED);
    }
    size_t k = 0;
    for (size_t i = 0; i < d->n_images; i++) {
        if (!split_selected(o->split, d->images[i].split))
            continue;
        for (size_t j = 0; j < d->images[i].n_sentences; j++, k++)
            refs[k] = (caption_ref){d->images[i].sentences[j].sentid, i, j, k, 0};
    }
    *n_out = n;
    return refs;
}

static int compare_refs(const void *pa, const void *pb)
{
    const caption_ref *a = pa, *b = pb;
    if (a->sentid != b->sentid)
        return a->sentid < b->sentid ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Checks a repeat of a sentid against its first listing: the same key and text
 * make it a duplicate to skip, anything else is an error. */
static void check_repeat(const options *o, const snn_dataset *d, const caption_ref *first,
                         const caption_ref *again)
{
    const snn_dataset_image *a = &d->images[first->image], *b = &d->images[again->image];
    const char *raw_a = a->sentences[first->sentence].raw;
    const char *raw_b = b->sentences[again->sentence].raw;
    if (strcmp(a->key, b->key) != 0)
        cli_error("%s: images[%zu].sentences[%zu]: sentid %ld is also listed under "
                  "images[%zu], whose key \"%s\" differs from \"%s\": give each caption "
                  "its own sentid", o->dataset, again->image, again->sentence, again->sentid,
                  first->image, a->key, b->key);
    else if (strcmp(raw_a, raw_b) != 0)
        cli_error("%s: images[%zu].sentences[%zu]: sentid %ld is also listed under "
                  "images[%zu] with another text: give each caption its own sentid",
                  o->dataset, again->image, again->sentence, again->sentid, first->image);
    else
        return;
    exit(CLI_FAILED);
}

/* Marks every listing of a sentid after the first as skipped. */
static void mark_repeats(const options *o, const snn_dataset *d, caption_ref *refs, size_t n)
{
    caption_ref *sorted = snn_alloc(n, sizeof *sorted);
    if (!sorted) {
        cli_error("out of memory for %zu captions", n);
        exit(CLI_FAILED);
    }
    memcpy(sorted, refs, n * sizeof *refs);
    qsort(sorted, n, sizeof *sorted, compare_refs);
    for (size_t i = 1, first = 0; i < n; i++) {
        if (sorted[i].sentid != sorted[first].sentid) {
            first = i;
            continue;
        }
        check_repeat(o, d, &sorted[first], &sorted[i]);
        refs[sorted[i].order].skip = 1;
    }
    free(sorted);
}

static void tokenize_dataset(run *r, const snn_dataset *d, const caption_ref *refs, size_t n)
{
    char where[SNN_STREAM_MAX_ID + 64], id[32];
    for (size_t k = 0; k < n; k++) {
        if (refs[k].skip)
            continue;
        const snn_dataset_image *im = &d->images[refs[k].image];
        snprintf(where, sizeof where, "%s: images[%zu].sentences[%zu]", r->opt->dataset,
                 refs[k].image, refs[k].sentence);
        snprintf(id, sizeof id, "%ld", refs[k].sentid);
        handle_caption(r, where, id, im->key, im->sentences[refs[k].sentence].raw);
    }
}

/* Opens each caption file once, so that a missing one fails before any output. */
static void check_files(const options *o)
{
    for (int i = 0; i < o->n_files; i++) {
        if (strcmp(o->files[i], "-") == 0)
            continue;
        FILE *fp = fopen(o->files[i], "rb");
        if (!fp) {
            cli_error("cannot open %s: %s", o->files[i], strerror(errno));
            exit(CLI_FAILED);
        }
        fclose(fp);
    }
}

static void open_output(run *r)
{
    snn_error err;
    if (r->opt->build_vocab) {
        r->builder = snn_vocab_builder_new(&err);
        if (!r->builder)
            cli_die(&err);
        return;
    }
    cli_output_open(&r->out, r->opt->output, !r->opt->text);
    if (r->opt->text)
        return;

    snn_stream_info info = {.kind = SNN_STREAM_TOKENS,
                            .vocab_fingerprint = snn_vocab_fingerprint(r->vocab)};
    r->writer = snn_stream_writer_open(r->out.fp, &info, 3, &err);
    if (!r->writer)
        fail(r, &err);
}

static void finish_output(run *r)
{
    snn_error err;
    if (r->builder) {
        snn_vocab *v;
        if (snn_vocab_builder_finish(&v, r->builder, (size_t)r->opt->vocab_size,
                                     r->opt->min_count, &err) != SNN_OK)
            cli_die(&err);
        cli_output_open(&r->out, r->opt->output, 0);
        if (snn_vocab_write(v, r->out.fp, &err) != SNN_OK)
            fail(r, &err);
        cli_debug("learned %zu tokens from %zu captions", snn_vocab_size(v), r->captions);
        snn_vocab_free(v);
    } else if (r->writer) {
        int rc = snn_stream_writer_close(r->writer, &err);
        r->writer = NULL;
        if (rc != SNN_OK)
            fail(r, &err);
    }
    cli_output_commit(&r->out);
}

static void read_inputs(run *r)
{
    const options *o = r->opt;
    if (o->dataset) {
        snn_dataset *d;
        snn_error err;
        if (snn_dataset_load(&d, o->dataset, NULL, &err) != SNN_OK)
            fail(r, &err);
        size_t n;
        caption_ref *refs = collect_captions(o, d, &n);
        mark_repeats(o, d, refs, n);
        open_output(r);
        tokenize_dataset(r, d, refs, n);
        free(refs);
        snn_dataset_free(d);
        return;
    }

    check_files(o);
    open_output(r);
    if (o->n_files == 0)
        read_lines(r, "-");
    for (int i = 0; i < o->n_files; i++)
        read_lines(r, o->files[i]);
}

int main(int argc, char **argv)
{
    cli_init(argc, argv);
    options o;
    parse(&o, argc, argv);

    run r = {.opt = &o, .unk_id = -1};
    snn_error err;
    if (o.vocab) {
        if (snn_vocab_load(&r.vocab, o.vocab, &err) != SNN_OK)
            cli_die(&err);
        r.unk_id = snn_vocab_find(r.vocab, "[UNK]");
    }
    r.ids = snn_alloc((size_t)o.max_length, sizeof *r.ids);
    if (!r.ids) {
        cli_error("out of memory for --max-length %ld", o.max_length);
        return CLI_FAILED;
    }

    read_inputs(&r);
    finish_output(&r);

    if (r.truncated)
        cli_info("%zu caption%s truncated to %ld tokens", r.truncated,
                 r.truncated == 1 ? "" : "s", o.max_length);
    if (!o.build_vocab)
        cli_debug("%zu captions, %zu tokens, %zu of them [UNK]", r.captions, r.tokens,
                  r.unknown);
    snn_vocab_builder_free(r.builder);
    snn_vocab_free(r.vocab);
    free(r.ids);
    return cli_finish(CLI_OK);
}
