#!/usr/bin/env bats
# snn-rank on tiny spike streams written by tests/tools/mkstream.
#
# The hand-computed case has one token per set, so fine similarity is the
# squared cosine. D = 4, spikes equal at both time steps:
#   images    img1 k1 (1,0,0,0)   img2 k2 (0,1,0,0)   img3 k3 (0,0,1,1)/sqrt2
#   captions  c1 k1 (1,0,0,0)     c2 k1 (1,1,0,0)/sqrt2
#             c3 k2 (0,0,1,0)     c4 k3 (0,0,1,1)/sqrt2
# Scores (rows images, columns captions):
#   img1  1    0.5  0    0
#   img2  0    0.5  0    0
#   img3  0    0    0.5  1
# i2t ranks: img1 1, img2 4 (its c3 trails c2 and ties c1 and c4), img3 1.
# t2i ranks: c1 1, c2 2 (img2 ties img1), c3 3 (img3 above, img1 ties), c4 1.

bats_require_minimum_version 1.5.0

setup_file() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    MKSTREAM="$ROOT/build/tests/mkstream"
    if [ ! -x "$MKSTREAM" ]; then
        echo "missing $MKSTREAM: run the tests with 'make check'" >&2
        return 1
    fi
}

header() { # header KIND MODEL
    printf 'kind %s\nmodel %s\nsteps 2\ndim 4\nbits 1\nreadout 1 1\n' "$1" "$2"
}

images() {
    header image 0x1234
    echo "record img1 k1 1  1 0 0 0  1 0 0 0"
    echo "record img2 k2 1  0 1 0 0  0 1 0 0"
    echo "record img3 k3 1  0 0 1 1  0 0 1 1"
}

captions() { # captions [MODEL]
    header text "${1:-0x1234}"
    echo "vocab 7"
    echo "record c1 k1 1  1 0 0 0  1 0 0 0"
    echo "record c2 k1 1  1 1 0 0  1 1 0 0"
    echo "record c3 k2 1  0 0 1 0  0 0 1 0"
    echo "record c4 k3 1  0 0 1 1  0 0 1 1"
}

setup() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    MKSTREAM="$ROOT/build/tests/mkstream"
    RANK="$ROOT/bin/snn-rank"
    cd "$BATS_TEST_TMPDIR"
    images | "$MKSTREAM" > img.snn
    captions | "$MKSTREAM" > txt.snn
}

TABLE='images: 3  captions: 4  similarity: fine (temperature 0.1)

direction         R@1     R@5    R@10    medR   meanR
image-to-text   66.67  100.00  100.00     1.0    2.00
text-to-image   50.00  100.00  100.00     1.5    1.75
rSum           516.67'

@test "rank prints the hand-computed table" {
    run --separate-stderr "$RANK" img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "$output" = "$TABLE" ]
    [ "$stderr" = "" ]
}

@test "rank prints the same metrics as JSON" {
    run --separate-stderr "$RANK" --json img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "$output" = '{
  "images": 3,
  "captions": 4,
  "similarity": "fine",
  "temperature": 0.1,
  "i2t": {
    "r1": 66.66666667,
    "r5": 100.0,
    "r10": 100.0,
    "median_rank": 1.0,
    "mean_rank": 2.0
  },
  "t2i": {
    "r1": 50.0,
    "r5": 100.0,
    "r10": 100.0,
    "median_rank": 1.5,
    "mean_rank": 1.75
  },
  "rsum": 516.6666667
}' ]
}

@test "rank writes top-k lists with ties in stream order" {
    run --separate-stderr "$RANK" --topk top.tsv --k 2 -o metrics.txt img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "$output" = "" ]
    [ "$(cat metrics.txt)" = "$TABLE" ]
    [ "$(cat top.tsv)" = "$(printf '%s\n' \
        'direction	query	rank	candidate	score' \
        'i2t	img1	1	c1	1' 'i2t	img1	2	c2	0.5' \
        'i2t	img2	1	c2	0.5' 'i2t	img2	2	c1	0' \
        'i2t	img3	1	c4	1' 'i2t	img3	2	c3	0.5' \
        't2i	c1	1	img1	1' 't2i	c1	2	img2	0' \
        't2i	c2	1	img1	0.5' 't2i	c2	2	img2	0.5' \
        't2i	c3	1	img3	0.5' 't2i	c3	2	img1	0' \
        't2i	c4	1	img3	1' 't2i	c4	2	img1	0')" ]
}

@test "rank --topk - writes the lists to stdout" {
    run --separate-stderr "$RANK" --topk - --k 1 -o metrics.txt img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "direction	query	rank	candidate	score" ]
    [ "${lines[1]}" = "i2t	img1	1	c1	1" ]
    [ "${#lines[@]}" -eq 8 ]
}

@test "rank global mode ranks the same here" {
    run --separate-stderr "$RANK" --similarity global img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "images: 3  captions: 4  similarity: global" ]
    [ "${lines[2]}" = "image-to-text   66.67  100.00  100.00     1.0    2.00" ]
    [ "${lines[3]}" = "text-to-image   50.00  100.00  100.00     1.5    1.75" ]
}

@test "rank reads captions from stdin" {
    run --separate-stderr bash -c "'$RANK' img.snn - < txt.snn"
    [ "$status" -eq 0 ]
    [ "$output" = "$TABLE" ]
}

@test "rank reads concatenated caption shards" {
    { header text 0x1234; echo "vocab 7"
      echo "record c1 k1 1  1 0 0 0  1 0 0 0"
      echo "record c2 k1 1  1 1 0 0  1 1 0 0"; } | "$MKSTREAM" > part1.snn
    { header text 0x1234; echo "vocab 7"
      echo "record c3 k2 1  0 0 1 0  0 0 1 0"
      echo "record c4 k3 1  0 0 1 1  0 0 1 1"; } | "$MKSTREAM" > part2.snn
    run --separate-stderr bash -c "cat part1.snn part2.snn | '$RANK' img.snn -"
    [ "$status" -eq 0 ]
    [ "$output" = "$TABLE" ]
}

@test "rank rejects streams of another model" {
    captions 0x99 | "$MKSTREAM" > other.snn
    run --separate-stderr "$RANK" img.snn other.snn
    [ "$status" -eq 1 ]
    [ "$output" = "" ]
    [ "$stderr" = "snn-rank: other.snn: written by another model (fingerprint 0000000000000099, images have 0000000000001234): encode both with the same model" ]
}

@test "rank rejects a token stream given as images" {
    printf 'kind tokens\nvocab 7\nrecord t1 k1 2  5 6\n' | "$MKSTREAM" > tokens.snn
    run --separate-stderr "$RANK" tokens.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: tokens.snn: is a stream of token ids, expected image spikes: pass the output of snn-encode-img" ]
}

@test "rank rejects swapped streams" {
    run --separate-stderr "$RANK" txt.snn img.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: txt.snn: is a stream of text spikes, expected image spikes: pass the output of snn-encode-img" ]
}

@test "rank rejects a truncated stream" {
    size=$(wc -c < txt.snn)
    head -c $((size - 8)) txt.snn > cut.snn
    run --separate-stderr "$RANK" img.snn cut.snn
    [ "$status" -eq 1 ]
    [ "$output" = "" ]
    [[ "$stderr" == "snn-rank: cut.snn: "*truncated* ]]
}

@test "rank reports a missing file" {
    run --separate-stderr "$RANK" img.snn missing.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: missing.snn: cannot open: No such file or directory" ]
}

@test "rank names an unmatched caption" {
    { captions; echo "record c5 k9 1  1 0 0 0  1 0 0 0"; } | "$MKSTREAM" > extra.snn
    run --separate-stderr "$RANK" img.snn extra.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: extra.snn: record 5 (id 'c5'): no image has its key 'k9' (1 of 5 captions have no match): pass --allow-unmatched to drop them" ]
}

@test "rank names an image without a caption" {
    { images; echo "record img4 k8 1  1 0 0 0  1 0 0 0"; } | "$MKSTREAM" > extra.snn
    run --separate-stderr "$RANK" extra.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: extra.snn: record 4 (id 'img4'): no caption has its key 'k8' (1 of 4 images have no match): pass --allow-unmatched to drop them" ]
}

@test "rank --allow-unmatched drops them with a count" {
    { images; echo "record img4 k8 1  1 0 0 0  1 0 0 0"; } | "$MKSTREAM" > img_extra.snn
    { captions; echo "record c5 k9 1  1 0 0 0  1 0 0 0"; } | "$MKSTREAM" > txt_extra.snn
    run --separate-stderr "$RANK" --allow-unmatched img_extra.snn txt_extra.snn
    [ "$status" -eq 0 ]
    [ "$output" = "$TABLE" ]
    [ "$stderr" = "snn-rank: dropped records without a match (--allow-unmatched): 1 images, 1 captions" ]

    run --separate-stderr "$RANK" -q --allow-unmatched img_extra.snn txt_extra.snn
    [ "$status" -eq 0 ]
    [ "$stderr" = "" ]
}

@test "rank fails when no key is shared" {
    { header text 0x1234; echo "record c1 zz 1  1 0 0 0  1 0 0 0"; } | "$MKSTREAM" > none.snn
    run --separate-stderr "$RANK" -q --allow-unmatched img.snn none.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: img.snn, none.snn: no image and caption share a key: nothing to rank" ]
}

@test "rank rejects duplicate ids" {
    { captions; echo "record c2 k2 1  0 0 0 1  0 0 0 1"; } | "$MKSTREAM" > dup.snn
    run --separate-stderr "$RANK" img.snn dup.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: dup.snn: records 2 and 5 have the same id 'c2': ids must be unique within a stream" ]
}

@test "rank rejects a record without tokens" {
    { captions; echo "record c5 k2 0"; } | "$MKSTREAM" > empty.snn
    run --separate-stderr "$RANK" img.snn empty.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: empty.snn: record 5 (id 'c5'): no token rows: every image and caption needs at least one token" ]
}

# Each usage error exits 2 with the message and a pointer to --help.
usage_error() { # usage_error MESSAGE ARGS...
    local want="$1"
    shift
    run --separate-stderr "$RANK" "$@"
    [ "$status" -eq 2 ]
    [ "$output" = "" ]
    [ "$stderr" = "snn-rank: $want
Try 'snn-rank --help' for more information." ]
}

@test "rank usage errors exit 2" {
    usage_error "expected IMAGES.snn and CAPTIONS.snn, got 0 file arguments"
    usage_error "expected IMAGES.snn and CAPTIONS.snn, got 1 file argument" img.snn
    usage_error "only one of IMAGES.snn and CAPTIONS.snn can be standard input ('-')" - -
    usage_error "invalid --similarity 'cosine': use fine or global" --similarity cosine img.snn txt.snn
    usage_error "--k must be between 1 and 1000000, got 0" --k 0 img.snn txt.snn
    usage_error "invalid number for --temperature: 'warm'" --temperature warm img.snn txt.snn
    usage_error "unknown option '--bogus'" --bogus img.snn txt.snn
    usage_error "unknown option '-x'" -x img.snn txt.snn
    usage_error "option '--topk' needs a value" img.snn txt.snn --topk
    usage_error "--topk - and the metrics would both go to stdout: add -o FILE for the metrics" --topk - img.snn txt.snn
}

@test "rank --help and --version" {
    run --separate-stderr "$RANK" --help
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "Usage: snn-rank [options] IMAGES.snn CAPTIONS.snn" ]

    run --separate-stderr "$RANK" --version
    [ "$status" -eq 0 ]
    [[ "$output" == "snn-rank snn-itr "[0-9]* ]]
}

@test "rank checks the top-k path before ranking" {
    mkdir lists
    run --separate-stderr "$RANK" -o metrics.txt --topk lists img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: cannot open lists: Is a directory" ]
    [ "$output" = "" ]
    [ ! -e metrics.txt ]
    [ -z "$(find . -maxdepth 1 -name 'metrics.txt.tmp.*')" ]
}
