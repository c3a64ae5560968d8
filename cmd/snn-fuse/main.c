/* snn-fuse: fuses images with captions through a trained model's cross-modal
 * spike fusion. Writes the fused token embeddings as a stream, or with --score
 * one fused similarity per pair, which snn-rank --rerank uses. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "cli.h"
#include "encode.h"
#include "items.h"
#include "pairs.h"

typedef struct {
    const char *model, *output, *pairs, *images, *captions;
    int score, side, batch, threads;
} options;

static void usage(void)
{
    printf("Usage: snn-fuse -m MODEL [options] IMAGES.snn CAPTIONS.snn\n"
           "Fuse images with captions through the model's cross-modal spike fusion. Both\n"
           "streams come from snn-encode-img and snn-encode-txt with --features and the\n"
           "same model. Without --pairs, record i of IMAGES is paired with record i of\n"
           "CAPTIONS. One of the inputs may be '-' for standard input.\n\n"
           "Options:\n"
           "  -m, --model FILE      trained model with fusion modules (safetensors)\n"
           "  -o, --output FILE     output ['-': stdout]\n"
           "  --pairs FILE          pair the records this TSV names: image id and caption\n"
           "                        id per line, or the top-k lists of snn-rank --topk;\n"
           "                        both streams are then held in memory\n"
           "  --score               write 'image caption score' TSV lines, the similarity\n"
           "                        of each fused image and fused caption, instead of\n"
           "                        the fused stream\n"
           "  --side WHICH          fused records written: image, caption or both [both]\n"
           "  --batch N             pairs fused together [64]\n"
           "  --threads N           OpenBLAS and OpenMP threads\n"
           "  -q, --quiet           print errors only\n"
           "  -v, --verbose         print more\n"
           "  -h, --help            print this help\n"
           "      --version         print the version\n");
}

static int parse_side(const char *text)
{
    if (strcmp(text, "image") == 0)
        return FUSE_SIDE_IMAGE;
    if (strcmp(text, "caption") == 0)
        return FUSE_SIDE_CAPTION;
    if (strcmp(text, "both") == 0)
        return FUSE_SIDE_BOTH;
    cli_usage_error("--side must be image, caption or both, not '%s'", text);
}

static void check_stdin_once(const options *o)
{
    int uses = !strcmp(o->images, "-") + !strcmp(o->captions, "-")
               + (o->pairs && !strcmp(o->pairs, "-"));
    if (uses > 1)
        cli_usage_error("only one of IMAGES, CAPTIONS and --pairs can be standard input");
}

static void parse(options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
        {"pairs", required_argument, 0, 'P'}, {"score", no_argument, 0, 'S'},
        {"side", required_argument, 0, 'E'}, {"batch", required_argument, 0, 'B'},
        {"threads", required_argument, 0, 'T'}, {"quiet", no_argument, 0, 'q'},
        {"verbose", no_argument, 0, 'v'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'}, {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->side = FUSE_SIDE_BOTH;
    o->batch = 64;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'o': o->output = optarg; break;
        case 'P': o->pairs = optarg; break;
        case 'S': o->score = 1; break;
        case 'E': o->side = parse_side(optarg); break;
        case 'B': o->batch = (int)cli_parse_long("--batch", optarg, 1, 65536); break;
        case 'T': o->threads = (int)cli_parse_long("--threads", optarg, 1, 1024); break;
        case 'q': cli_verbosity = 0; break;
        case 'v': cli_verbosity++; break;
        case 'h': usage(); exit(CLI_OK);
        case 'V': printf("snn-fuse snn-itr %s\n", SNN_VERSION); exit(CLI_OK);
        case ':': cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        default: cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        cli_usage_error("expected two inputs, IMAGES.snn and CAPTIONS.snn, not %d",
                        argc - optind);
    o->images = argv[optind];
    o->captions = argv[optind + 1];
    if (!o->model)
        cli_usage_error("missing -m MODEL");
    check_stdin_once(o);
}

static snn_model *load_fusion_model(const char *path)
{
    snn_model *m = encode_load_model(path);
    if (!m->cfg.fusion) {
        cli_error("%s: the model has no fusion modules: train it with a --fusion-weight "
                  "above 0", path);
        exit(CLI_FAILED);
    }
    return m;
}

/* Aligned inputs: record i with record i, read in step. */
static void fuse_aligned(fuse_batch *b, fuse_items *img, fuse_items *txt)
{
    fuse_item a, c;
    for (;;) {
        int more_img = fuse_items_next(img, &a), more_txt = fuse_items_next(txt, &c);
        if (!more_img && !more_txt)
            break;
        if (more_img != more_txt) {
            cli_error("%s has %s records than %s: aligned pairs need equal counts, or "
                      "name the pairs with --pairs", img->name, more_img ? "more" : "fewer",
                      txt->name);
            exit(CLI_FAILED);
        }
        fuse_batch_add(b, &a, &c);
    }
}

static void fuse_listed(fuse_batch *b, const fuse_pair *pairs, size_t count)
{
    for (size_t k = 0; k < count; k++)
        fuse_batch_add(b, pairs[k].img, pairs[k].txt);
}

/* Starts the output. The score TSV begins with the model's fingerprint, which
 * snn-rank --rerank checks against the streams, and a header line. */
static void open_writer(fuse_batch *b, cli_output *out, const options *o)
{
    if (o->score) {
        b->tsv = out->fp;
        fprintf(b->tsv, "# model %016" PRIx64 "\nimage\tcaption\tscore\n", b->m->fingerprint);
        return;
    }
    snn_stream_info info;
    snn_error err;
    fuse_stream_info(&info, b->m);
    if (!(b->writer = snn_stream_writer_open(out->fp, &info, 3, &err)))
        cli_die(&err);
    b->side = o->side;
}

int main(int argc, char **argv)
{
    cli_init(argc, argv);
    options o;
    parse(&o, argc, argv);
    cli_set_threads(o.threads);
    snn_model *m = load_fusion_model(o.model);

    fuse_items img, txt;
    fuse_items_open(&img, o.images, SNN_STREAM_IMAGE, m->fingerprint, o.model);
    fuse_items_open(&txt, o.captions, SNN_STREAM_TEXT, m->fingerprint, o.model);
    /* A pair list is read whole before any output, so its errors leave none. */
    fuse_pair *pairs = NULL;
    size_t count = 0;
    if (o.pairs) {
        fuse_items_load(&img);
        fuse_items_load(&txt);
        pairs = fuse_read_pairs(o.pairs, &img, &txt, &count);
    }
    cli_output out;
    cli_output_open(&out, o.output, !o.score);
    fuse_batch b;
    fuse_batch_init(&b, m, o.batch);
    b.out_name = o.output ? o.output : "standard output";
    open_writer(&b, &out, &o);

    double started = cli_now();
    if (o.pairs)
        fuse_listed(&b, pairs, count);
    else
        fuse_aligned(&b, &img, &txt);
    fuse_batch_flush(&b);
    snn_error err;
    if (b.writer && snn_stream_writer_close(b.writer, &err)) {
        snn_fail_prefix(&err, "%s", b.out_name);
        cli_die(&err);
    }
    cli_output_commit(&out);
    cli_debug("fused %llu pairs in %.2f s", (unsigned long long)b.pairs_done,
              cli_now() - started);

    free(pairs);
    fuse_batch_free(&b);
    fuse_items_close(&img);
    fuse_items_close(&txt);
    snn_model_free(m);
    return cli_finish(CLI_OK);
}
