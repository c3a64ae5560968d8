#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "similarity.h"

static void usage(void)
{
    printf("Usage: snn-rank [options] IMAGES.snn CAPTIONS.snn\n"
           "Score image-text retrieval between the image spikes of snn-encode-img and the\n"
           "text spikes of snn-encode-txt, both written by the same model. A caption is\n"
           "relevant to an image when their record keys are equal. Prints image-to-text\n"
           "and text-to-image R@1/5/10, rSum, and median and mean rank. One of the two\n"
           "streams may be '-' for standard input.\n\n"
           "Output:\n"
           "  -o, --output FILE       write the metrics to FILE [stdout]\n"
           "  --json                  print the metrics as JSON instead of a table\n"
           "  --topk FILE             write the k best candidates of every image and every\n"
           "                          caption to FILE as TSV, '-' for stdout; with --rerank,\n"
           "                          the re-ranked lists, whose first --rerank-depth ranks\n"
           "                          show the fused score instead of the similarity\n"
           "  --k N                   candidates per query in --topk [10]\n"
           "Re-ranking:\n"
           "  --rerank FILE           re-order the best candidates of every query by the\n"
           "                          fused scores in FILE (snn-fuse --score output),\n"
           "                          keeping them above all other candidates; '-' for\n"
           "                          stdin\n"
           "  --rerank-depth N        candidates re-ranked per query [10]; FILE must score\n"
           "                          every pair of the --topk list written with --k N\n"
           "Scoring:\n"
           "  --similarity MODE       fine (token-level log-sum-exp pooling) or global\n"
           "                          (cosine of mean-pooled tokens) [fine]\n"
           "  --temperature X         pooling temperature of fine mode [0.1]\n"
           "  --allow-unmatched       drop captions whose key matches no image and images\n"
           "                          without a caption, instead of failing\n"
           "Other:\n"
           "  --threads N             OpenBLAS and OpenMP threads [library default]\n"
           "  -q, --quiet             print errors only\n"
           "  -v, --verbose           also print counts and timings\n"
           "  -h, --help              print this help\n"
           "      --version           print the version\n");
}

enum {
    O_JSON = 256, O_TOPK, O_K, O_RERANK, O_RERANK_DEPTH, O_SIMILARITY, O_TEMPERATURE, O_ALLOW,
    O_THREADS, O_VERSION
};

static const struct option long_options[] = {
    {"output", required_argument, 0, 'o'}, {"json", no_argument, 0, O_JSON},
    {"topk", required_argument, 0, O_TOPK}, {"k", required_argument, 0, O_K},
    {"rerank", required_argument, 0, O_RERANK},
    {"rerank-depth", required_argument, 0, O_RERANK_DEPTH},
    {"similarity", required_argument, 0, O_SIMILARITY},
    {"temperature", required_argument, 0, O_TEMPERATURE},
    {"allow-unmatched", no_argument, 0, O_ALLOW}, {"threads", required_argument, 0, O_THREADS},
    {"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0},
};

static int parse_mode(const char *text)
{
    if (strcmp(text, "fine") == 0)
        return SNN_SIM_FINE;
    if (strcmp(text, "global") == 0)
        return SNN_SIM_GLOBAL;
    cli_usage_error("invalid --similarity '%s': use fine or global", text);
}

static void parse_one(rank_options *o, int c)
{
    switch (c) {
    case 'o': o->output = optarg; break;
    case O_JSON: o->json = 1; break;
    case O_TOPK: o->topk = optarg; break;
    case O_K: o->k = (int)cli_parse_long("--k", optarg, 1, 1000000); break;
    case O_RERANK: o->rerank = optarg; break;
    case O_RERANK_DEPTH:
        /* At most 1000000 keeps the re-ranked values of rerank.c distinct. */
        o->rerank_depth = (int)cli_parse_long("--rerank-depth", optarg, 1, 1000000);
        break;
    case O_SIMILARITY: o->mode = parse_mode(optarg); break;
    case O_TEMPERATURE: o->temperature = cli_parse_double("--temperature", optarg, 1e-4, 100); break;
    case O_ALLOW: o->allow_unmatched = 1; break;
    case O_THREADS: o->threads = (int)cli_parse_long("--threads", optarg, 1, 4096); break;
    case 'q': cli_verbosity = 0; break;
    case 'v': cli_verbosity++; break;
    case 'h': usage(); exit(cli_finish(CLI_OK));
    case O_VERSION: printf("snn-rank snn-itr %s\n", SNN_VERSION); exit(cli_finish(CLI_OK));
    default: cli_usage_error("invalid option");
    }
}

static int is_stdout(const char *path)
{
    return !path || strcmp(path, "-") == 0;
}

static int is_stdin(const char *path)
{
    return path && strcmp(path, "-") == 0;
}

static void check_rerank(rank_options *o)
{
    if (o->rerank_depth && !o->rerank)
        cli_usage_error("--rerank-depth needs --rerank FILE");
    if (!o->rerank_depth)
        o->rerank_depth = 10;
    if (is_stdin(o->rerank) && (is_stdin(o->images) || is_stdin(o->captions)))
        cli_usage_error("only one of IMAGES.snn, CAPTIONS.snn and --rerank can be standard "
                        "input ('-')");
}

void rank_parse_options(rank_options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->k = 10;
    o->mode = SNN_SIM_FINE;
    o->temperature = 0.1;

    opterr = 0; /* getopt's own messages lack the --help hint */
    int c;
    while ((c = getopt_long(argc, argv, ":o:qvh", long_options, NULL)) != -1) {
        if (c == '?' && optopt)
            cli_usage_error("unknown option '-%c'", optopt);
        if (c == '?')
            cli_usage_error("unknown option '%s'", argv[optind - 1]);
        if (c == ':')
            cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        parse_one(o, c);
    }

    if (argc - optind != 2)
        cli_usage_error("expected IMAGES.snn and CAPTIONS.snn, got %d file argument%s",
                        argc - optind, argc - optind == 1 ? "" : "s");
    o->images = argv[optind];
    o->captions = argv[optind + 1];
    if (is_stdin(o->images) && is_stdin(o->captions))
        cli_usage_error("only one of IMAGES.snn and CAPTIONS.snn can be standard input ('-')");
    check_rerank(o);
    if (o->topk && is_stdout(o->topk) && is_stdout(o->output))
        cli_usage_error("--topk - and the metrics would both go to stdout: add -o FILE for "
                        "the metrics");
}
