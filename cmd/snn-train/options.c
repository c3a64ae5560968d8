#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(void)
{
    printf("Usage: snn-train --dataset FILE --vocab FILE -o MODEL [options]\n"
           "Train the spiking image and text encoders on a dataset split.\n\n"
           "Data:\n"
           "  --dataset FILE        dataset JSON (Karpathy layout)\n"
           "  --image-root DIR      directory image paths are relative to [the JSON's]\n"
           "  --vocab FILE          WordPiece vocabulary (vocab.txt)\n"
           "  --split NAME          training split [train]\n"
           "  --val-split NAME      split scored after every epoch, 'none' to skip [val]\n"
           "  --test-split NAME     score the written model on this split at the end and\n"
           "                        print the metrics as one JSON line on stderr\n"
           "Output:\n"
           "  -o, --output FILE     final model (safetensors)\n"
           "  --checkpoint FILE     checkpoint written after every epoch [OUTPUT.ckpt]\n"
           "  --resume FILE         continue from a checkpoint (its sizes are used)\n"
           "  --log FILE            per-epoch TSV log, '-' for stdout [none]\n"
           "  --select WHICH        model written to -o: 'best' validation rSum or\n"
           "                        'last' epoch [best; last without --val-split]\n"
           "  --shift N             move each training image by a random offset of up\n"
           "                        to N pixels per axis, filling with white [0]\n"
           "Optimisation:\n"
           "  --epochs N            epochs [10]; 0 writes the untrained model after\n"
           "                        one forward pass over the split that sets the\n"
           "                        BatchNorm running statistics\n"
           "  --batch N             pairs per batch, distinct groups [32]\n"
           "  --lr X                AdamW learning rate [5e-4]\n"
           "  --lr-step N           multiply the rate by --lr-gamma every N epochs\n"
           "                        [two thirds of --epochs]\n"
           "  --lr-gamma X          step decay factor [0.1]\n"
           "  --weight-decay X      decoupled weight decay [1e-4]\n"
           "  --clip X              gradient-norm clipping, 0 for none [2.0]\n"
           "  --float-weight X      weight of the float-feature loss term [1.0]\n"
           "  --fusion-weight X     weight of each of the three fusion loss terms;\n"
           "                        0 builds no fusion modules and skips their cost [1.0]\n"
           "  --temperature X       InfoNCE temperature [0.1]\n"
           "  --margin X            InfoNCE margin [0.2]\n"
           "  --sim-temperature X   log-sum-exp pooling temperature [0.1]\n"
           "Model:\n"
           "  --dim N               embedding width D [256]\n"
           "  --heads N             attention heads [8]\n"
           "  --ffn-hidden N        gated FFN hidden width [4*D]\n"
           "  --depth N             blocks per encoder [1]\n"
           "  --time-steps N        time steps T [2]\n"
           "  --image-size N        input side S in pixels [32]\n"
           "  --grid N              token grid side G [8]\n"
           "  --stem-channels N     first stem stage channels, doubled per stage [32]\n"
           "  --max-length N        caption tokens kept [32]\n"
           "  --tau X               LIF membrane time constant [2.0]\n"
           "  --vth X               LIF threshold [1.0]\n"
           "  --learn-vth X         make every threshold learnable, starting at X [off]\n"
           "  --coder-vth X         initial threshold of the text spike coder [0.5]\n"
           "  --alpha X             sigmoid surrogate sharpness [4.0]\n"
           "  --ann                 ANN mode: ReLU in place of every LIF, one time step\n"
           "Other:\n"
           "  --seed N              random seed [1]\n"
           "  --threads N           OpenBLAS and OpenMP threads [library default]\n"
           "  -q, --quiet           print errors only\n"
           "  -v, --verbose         print more\n"
           "  -h, --help            print this help\n"
           "      --version         print the version\n");
}

enum {
    O_DATASET = 256, O_IMAGE_ROOT, O_VOCAB, O_SPLIT, O_VAL_SPLIT, O_CHECKPOINT, O_RESUME, O_LOG,
    O_EPOCHS, O_BATCH, O_LR, O_LR_STEP, O_LR_GAMMA, O_WD, O_CLIP, O_FLOAT_WEIGHT, O_TEMP,
    O_MARGIN, O_SIM_TEMP, O_DIM, O_HEADS, O_FFN, O_DEPTH, O_T, O_IMAGE_SIZE, O_GRID, O_STEM,
    O_MAX_LEN, O_TAU, O_VTH, O_LEARN_VTH, O_CODER_VTH, O_ALPHA, O_SEED, O_THREADS, O_VERSION, O_SHIFT, O_SELECT, O_TEST_SPLIT, O_FUSION_WEIGHT, O_ANN,
};

static const struct option long_options[] = {
    {"dataset", required_argument, 0, O_DATASET}, {"image-root", required_argument, 0, O_IMAGE_ROOT},
    {"vocab", required_argument, 0, O_VOCAB}, {"split", required_argument, 0, O_SPLIT},
    {"val-split", required_argument, 0, O_VAL_SPLIT}, {"output", required_argument, 0, 'o'},
    {"checkpoint", required_argument, 0, O_CHECKPOINT}, {"resume", required_argument, 0, O_RESUME},
    {"log", required_argument, 0, O_LOG}, {"epochs", required_argument, 0, O_EPOCHS},
    {"batch", required_argument, 0, O_BATCH}, {"lr", required_argument, 0, O_LR},
    {"lr-step", required_argument, 0, O_LR_STEP}, {"lr-gamma", required_argument, 0, O_LR_GAMMA},
    {"weight-decay", required_argument, 0, O_WD}, {"clip", required_argument, 0, O_CLIP},
    {"float-weight", required_argument, 0, O_FLOAT_WEIGHT},
    {"temperature", required_argument, 0, O_TEMP}, {"margin", required_argument, 0, O_MARGIN},
    {"sim-temperature", required_argument, 0, O_SIM_TEMP}, {"dim", required_argument, 0, O_DIM},
    {"heads", required_argument, 0, O_HEADS}, {"ffn-hidden", required_argument, 0, O_FFN},
    {"depth", required_argument, 0, O_DEPTH}, {"time-steps", required_argument, 0, O_T},
    {"image-size", required_argument, 0, O_IMAGE_SIZE}, {"grid", required_argument, 0, O_GRID},
    {"stem-channels", required_argument, 0, O_STEM}, {"max-length", required_argument, 0, O_MAX_LEN},
    {"tau", required_argument, 0, O_TAU}, {"vth", required_argument, 0, O_VTH},
    {"learn-vth", required_argument, 0, O_LEARN_VTH}, {"coder-vth", required_argument, 0, O_CODER_VTH},
    {"alpha", required_argument, 0, O_ALPHA}, {"seed", required_argument, 0, O_SEED},
    {"threads", required_argument, 0, O_THREADS}, {"quiet", no_argument, 0, 'q'},
    {"verbose", no_argument, 0, 'v'}, {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, O_VERSION}, {"shift", required_argument, 0, O_SHIFT},
    {"select", required_argument, 0, O_SELECT},
    {"test-split", required_argument, 0, O_TEST_SPLIT},
    {"fusion-weight", required_argument, 0, O_FUSION_WEIGHT}, {"ann", no_argument, 0, O_ANN},
    {0, 0, 0, 0},
};

static void set_defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
    snn_config_default(&o->cfg);
    o->cfg.ffn_hidden = 0; /* 4*D unless given */
    o->split = "train";
    o->val_split = "val";
    o->select = "best";
    o->epochs = 10;
    o->batch = 32;
    o->lr = 5e-4f;
    o->lr_gamma = 0.1f;
    o->weight_decay = 1e-4f;
    o->clip = 2.0f;
    o->float_weight = 1.0f;
    o->fusion_weight = 1.0f;
    o->seed = 1;
}

static float pf(const char *name, double min, double max)
{
    return (float)cli_parse_double(name, optarg, min, max);
}

static int pi(const char *name, long min, long max)
{
    return (int)cli_parse_long(name, optarg, min, max);
}

static void parse_one(train_options *o, int c)
{
    snn_config *cfg = &o->cfg;
    switch (c) {
    case O_DATASET: o->dataset = optarg; break;
    case O_IMAGE_ROOT: o->image_root = optarg; break;
    case O_VOCAB: o->vocab = optarg; break;
    case O_SPLIT: o->split = optarg; break;
    case O_VAL_SPLIT: o->val_split = optarg; break;
    case 'o': o->output = optarg; break;
    case O_CHECKPOINT: o->checkpoint = optarg; break;
    case O_RESUME: o->resume = optarg; break;
    case O_LOG: o->log = optarg; break;
    case O_EPOCHS: o->epochs = pi("--epochs", 0, 1000000); break;
    case O_BATCH: o->batch = pi("--batch", 2, 65536); break;
    case O_LR: o->lr = pf("--lr", 0, 10); break;
    case O_LR_STEP: o->lr_step = pi("--lr-step", 1, 1000000); break;
    case O_LR_GAMMA: o->lr_gamma = pf("--lr-gamma", 0, 1); break;
    case O_WD: o->weight_decay = pf("--weight-decay", 0, 10); break;
    case O_CLIP: o->clip = pf("--clip", 0, 1e9); break;
    case O_FLOAT_WEIGHT: o->float_weight = pf("--float-weight", 0, 1000); break;
    case O_TEMP: cfg->loss_temperature = pf("--temperature", 1e-4, 100); break;
    case O_MARGIN: cfg->margin = pf("--margin", -10, 10); break;
    case O_SIM_TEMP: cfg->sim_temperature = pf("--sim-temperature", 1e-4, 100); break;
    case O_DIM: cfg->dim = pi("--dim", 1, 65536); break;
    case O_HEADS: cfg->heads = pi("--heads", 1, 1024); break;
    case O_FFN: cfg->ffn_hidden = pi("--ffn-hidden", 1, 1 << 20); break;
    case O_DEPTH: cfg->depth = pi("--depth", 1, SNN_MAX_DEPTH); break;
    case O_T:
        cfg->time_steps = pi("--time-steps", 1, SNN_MAX_T);
        o->time_steps_given = 1;
        break;
    case O_IMAGE_SIZE: cfg->image_size = pi("--image-size", 2, 4096); break;
    case O_GRID: cfg->grid = pi("--grid", 1, 1024); break;
    case O_STEM: cfg->stem_channels = pi("--stem-channels", 1, 4096); break;
    case O_MAX_LEN: cfg->max_len = pi("--max-length", 1, 4096); break;
    case O_TAU: cfg->tau = pf("--tau", 1.0001, 1e6); break;
    case O_VTH: cfg->vth = pf("--vth", 1e-6, 1e6); break;
    case O_LEARN_VTH: cfg->learn_vth = pf("--learn-vth", 1e-6, 1e6); break;
    case O_CODER_VTH: cfg->coder_vth = pf("--coder-vth", 1e-6, 1e6); break;
    case O_ALPHA: cfg->surrogate_alpha = pf("--alpha", 1e-6, 1e6); break;
    case O_SEED: o->seed = (uint64_t)cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
    case O_THREADS: o->threads = pi("--threads", 1, 1024); break;
    case O_SHIFT: o->shift = pi("--shift", 0, 1024); break;
    case O_TEST_SPLIT: o->test_split = optarg; break;
    case O_FUSION_WEIGHT: o->fusion_weight = pf("--fusion-weight", 0, 1000); break;
    case O_ANN: cfg->ann = 1; break;
    case O_SELECT:
        if (strcmp(optarg, "best") != 0 && strcmp(optarg, "last") != 0)
            cli_usage_error("--select must be 'best' or 'last', got '%s'", optarg);
        o->select = optarg;
        break;
    case 'q': cli_verbosity = 0; break;
    case 'v': cli_verbosity++; break;
    case 'h': usage(); exit(0);
    case O_VERSION: printf("snn-train snn-itr %s\n", SNN_VERSION); exit(0);
    default: cli_usage_error("unknown option");
    }
}

void train_parse_options(train_options *o, int argc, char **argv)
{
    set_defaults(o);
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:qvh", long_options, NULL)) != -1) {
        if (c == '?')
            cli_usage_error("unknown option '%s'", argv[optind - 1]);
        if (c == ':')
            cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        parse_one(o, c);
    }
    if (optind < argc)
        cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!o->dataset)
        cli_usage_error("missing --dataset FILE");
    if (!o->vocab)
        cli_usage_error("missing --vocab FILE");
    if (!o->output)
        cli_usage_error("missing -o MODEL");
    if (o->cfg.ffn_hidden == 0)
        o->cfg.ffn_hidden = 4 * o->cfg.dim;
    o->cfg.fusion = o->fusion_weight > 0;
    if (o->cfg.ann) {
        if (o->time_steps_given && o->cfg.time_steps != 1)
            cli_usage_error("--ann runs one time step; drop --time-steps %d", o->cfg.time_steps);
        o->cfg.time_steps = 1;
    }
    if (o->lr_step == 0)
        o->lr_step = o->epochs >= 3 ? (2 * o->epochs + 2) / 3 : 1000000;
}
