/* snn-encode-txt: encodes a token stream (from snn-tokenize) with a trained
 * model's text encoder and writes a text spike stream, one record per caption. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "encode.h"

typedef struct {
    const char *model, *output, *input;
    int batch, threads, features;
} options;

static void usage(void)
{
    printf("Usage: snn-encode-txt -m MODEL [options] [TOKENS]\n"
           "Encode a token stream from snn-tokenize into a text spike stream for snn-rank.\n"
           "TOKENS is a file or '-' for stdin [stdin].\n\n"
           "Options:\n"
           "  -m, --model FILE      trained model (safetensors)\n"
           "  -o, --output FILE     output stream ['-': stdout]\n"
           ENCODE_FEATURES_HELP
           "  --batch N             captions encoded together [256]\n"
           "  --threads N           OpenBLAS and OpenMP threads\n"
           "  -q, --quiet           print errors only\n"
           "  -v, --verbose         print more\n"
           "  -h, --help            print this help\n"
           "      --version         print the version\n");
}

static void parse(options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
        {"features", no_argument, 0, 'F'},
        {"batch", required_argument, 0, 'B'}, {"threads", required_argument, 0, 'T'},
        {"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->batch = 256;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'o': o->output = optarg; break;
        case 'F': o->features = 1; break;
        case 'B': o->batch = (int)cli_parse_long("--batch", optarg, 1, 65536); break;
        case 'T': o->threads = (int)cli_parse_long("--threads", optarg, 1, 1024); break;
        case 'q': cli_verbosity = 0; break;
        case 'v': cli_verbosity++; break;
        case 'h': usage(); exit(CLI_OK);
        case 'V': printf("snn-encode-txt snn-itr %s\n", SNN_VERSION); exit(CLI_OK);
        case ':': cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        default: cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        cli_usage_error("expected one token stream, got %d", argc - optind);
    o->input = optind < argc ? argv[optind] : "-";
    if (!o->model)
        cli_usage_error("missing -m MODEL");
}

/* Captions of one batch, copied out of the reader's buffers. */
typedef struct {
    int B;
    int *ids, *off;
    char **rec_ids, **keys;
} caption_batch;

static void check_header(const snn_stream_info *info, const snn_model *m, const char *name,
                         const char *model_path)
{
    if (info->kind != SNN_STREAM_TOKENS) {
        cli_error("%s: a stream of %s, expected token ids: pipe snn-tokenize output here",
                  name, snn_stream_kind_name(info->kind));
        exit(CLI_FAILED);
    }
    if (info->vocab_fingerprint != m->cfg.vocab_fingerprint) {
        cli_error("%s: tokenised with another vocabulary than %s was trained with: run "
                  "snn-tokenize with the model's --vocab", name, model_path);
        exit(CLI_FAILED);
    }
}

static void add_caption(caption_batch *cb, const snn_record *rec, const snn_model *m,
                        const char *name, uint64_t number)
{
    const snn_config *c = &m->cfg;
    if (rec->n == 0 || rec->n > (uint32_t)c->max_len) {
        cli_error("%s: record %llu (%s): %u tokens, the model takes 1 to %d: run "
                  "snn-tokenize with --max-length %d", name, (unsigned long long)number,
                  rec->id, rec->n, c->max_len, c->max_len);
        exit(CLI_FAILED);
    }
    int start = cb->off[cb->B];
    for (uint32_t k = 0; k < rec->n; k++) {
        if (rec->tokens[k] >= (uint32_t)c->vocab_size) {
            cli_error("%s: record %llu (%s): token id %u is outside the vocabulary of %d",
                      name, (unsigned long long)number, rec->id, rec->tokens[k], c->vocab_size);
            exit(CLI_FAILED);
        }
        cb->ids[start + (int)k] = (int)rec->tokens[k];
    }
    cb->rec_ids[cb->B] = strdup(rec->id);
    cb->keys[cb->B] = strdup(rec->key);
    if (!cb->rec_ids[cb->B] || !cb->keys[cb->B]) {
        cli_error("out of memory");
        exit(CLI_FAILED);
    }
    cb->B++;
    cb->off[cb->B] = start + (int)rec->n;
}

static void flush_batch(caption_batch *cb, snn_model *m, snn_stream_writer *w, int features,
                        const char *out_name, snn_arena *ar)
{
    if (cb->B == 0)
        return;
    snn_enc_out out;
    if (snn_text_forward(m, &out, cb->ids, cb->off, cb->B, 0, ar)) {
        cli_error("out of memory encoding %d captions", cb->B);
        exit(CLI_FAILED);
    }
    encode_write_batch(w, &out, m, (const char *const *)cb->rec_ids,
                       (const char *const *)cb->keys, features, out_name);
    snn_arena_reset(ar);
    for (int b = 0; b < cb->B; b++) {
        free(cb->rec_ids[b]);
        free(cb->keys[b]);
    }
    cb->B = 0;
}

int main(int argc, char **argv)
{
    cli_init(argc, argv);
    options o;
    parse(&o, argc, argv);
    cli_set_threads(o.threads);
    snn_model *m = encode_load_model(o.model);

    const char *in_name = strcmp(o.input, "-") == 0 ? "standard input" : o.input;
    FILE *in = cli_open_input(o.input);
    snn_error err;
    snn_stream_reader *r = snn_stream_reader_open(in, in_name, &err);
    if (!r)
        cli_die(&err);
    check_header(snn_stream_reader_info(r), m, in_name, o.model);

    cli_output out;
    cli_output_open(&out, o.output, 1);
    const char *out_name = o.output ? o.output : "standard output";
    snn_stream_info info;
    encode_stream_info(&info, m, encode_kind(SNN_STREAM_TEXT, o.features));
    snn_stream_writer *w = snn_stream_writer_open(out.fp, &info, 3, &err);
    if (!w) {
        cli_output_abort(&out);
        cli_die(&err);
    }

    caption_batch cb = {0};
    cb.ids = malloc((size_t)o.batch * m->cfg.max_len * sizeof(int));
    cb.off = calloc((size_t)o.batch + 1, sizeof(int));
    cb.rec_ids = calloc((size_t)o.batch, sizeof(char *));
    cb.keys = calloc((size_t)o.batch, sizeof(char *));
    if (!cb.ids || !cb.off || !cb.rec_ids || !cb.keys) {
        cli_error("out of memory for a batch of %d captions", o.batch);
        return CLI_FAILED;
    }
    snn_arena ar = {0};
    snn_record rec;
    uint64_t number = 0;
    int rc;
    while ((rc = snn_stream_read(r, &rec, &err)) == SNN_OK) {
        add_caption(&cb, &rec, m, in_name, ++number);
        if (cb.B == o.batch)
            flush_batch(&cb, m, w, o.features, out_name, &ar);
    }
    if (rc != SNN_EOF) {
        cli_output_abort(&out);
        cli_die(&err);
    }
    flush_batch(&cb, m, w, o.features, out_name, &ar);
    snn_arena_free(&ar);

    if (snn_stream_writer_close(w, &err)) {
        cli_output_abort(&out);
        snn_fail_prefix(&err, "%s", out_name);
        cli_die(&err);
    }
    cli_output_commit(&out);
    snn_stream_reader_close(r);
    if (in != stdin)
        fclose(in);
    free(cb.ids);
    free(cb.off);
    free(cb.rec_ids);
    free(cb.keys);
    snn_model_free(m);
    return cli_finish(CLI_OK);
}
