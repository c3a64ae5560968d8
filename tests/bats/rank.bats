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
    usage_error "--rerank-depth needs --rerank FILE" --rerank-depth 2 img.snn txt.snn
    usage_error "--rerank-depth must be between 1 and 1000000, got 0" --rerank fused.tsv --rerank-depth 0 img.snn txt.snn
    usage_error "only one of IMAGES.snn, CAPTIONS.snn and --rerank can be standard input ('-')" --rerank - img.snn -
    usage_error "only one of IMAGES.snn, CAPTIONS.snn and --rerank can be standard input ('-')" --rerank - - txt.snn
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

# ---- --rerank
#
# The top 2 by similarity (snn_topk order, the lower index first on ties):
#   i2t  img1: c1 c2   img2: c2 c1   img3: c4 c3
#   t2i  c1: img1 img2   c2: img1 img2   c3: img3 img1   c4: img3 img1
# fused_scores gives those 8 pairs these fused scores:
#   img1-c1 0.2  img1-c2 0.9  img1-c3 0.6  img1-c4 -0.5
#   img2-c1 0.3  img2-c2 0.1  img3-c3 0.4  img3-c4 -0.5
# i2t after re-ranking: img1 c2 c1 (rank 1, both k1); img2 c1 c2, then c3 ties
#   c4 at 0 (rank 4, as before); img3 c3 c4 (rank 2, was 1).
#   Ranks 1 4 2: R@1 33.33, R@5 and R@10 100, median 2, mean 7/3.
# t2i: c1 img2 img1 (rank 2, was 1); c2 img1 img2 (rank 1, was 2 on a tie);
#   c3 img1 img3, img2 below (rank 3); c4 img3 and img1 tie at -0.5 (rank 2).
#   Ranks 2 1 3 2: R@1 25, R@5 and R@10 100, median 2, mean 2.
# rSum 33.33 + 25 + 4 * 100 = 458.33.

fused_scores() {
    printf 'image\tcaption\tscore\n'
    printf '%s\t%s\t%s\n' img1 c1 0.2 img1 c2 0.9 img2 c2 0.1 img2 c1 0.3 \
        img3 c4 -0.5 img3 c3 0.4 img1 c3 0.6 img1 c4 -0.5
    # snn-fuse may score a pair twice when it is in both directions' lists.
    printf 'img1\tc2\t0.9\n'
}

RERANKED='re-ranked: the top 2 of every query by fused scores from fused.tsv
images: 3  captions: 4  similarity: fine (temperature 0.1)

direction         R@1     R@5    R@10    medR   meanR
image-to-text   33.33  100.00  100.00     2.0    2.33
text-to-image   25.00  100.00  100.00     2.0    2.00
rSum           458.33'

@test "rerank reorders the top 2 by fused score" {
    fused_scores > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "$output" = "$RERANKED" ]
    [ "$stderr" = "" ]
}

@test "rerank JSON names the file and depth" {
    fused_scores > fused.tsv
    run --separate-stderr "$RANK" --json --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "$output" = '{
  "images": 3,
  "captions": 4,
  "similarity": "fine",
  "temperature": 0.1,
  "rerank": {
    "file": "fused.tsv",
    "depth": 2
  },
  "i2t": {
    "r1": 33.33333333,
    "r5": 100.0,
    "r10": 100.0,
    "median_rank": 2.0,
    "mean_rank": 2.333333333
  },
  "t2i": {
    "r1": 25.0,
    "r5": 100.0,
    "r10": 100.0,
    "median_rank": 2.0,
    "mean_rank": 2.0
  },
  "rsum": 458.3333333
}' ]
}

# Ranks 1-2 show the fused score, rank 3 the similarity, which re-ranking
# leaves in place. c4's tie at -0.5 lists img1 first, as snn_topk does.
@test "rerank --topk writes the re-ranked lists" {
    fused_scores > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 --topk top.tsv --k 3 \
        -o metrics.txt img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "$(cat metrics.txt)" = "$RERANKED" ]
    [ "$(cat top.tsv)" = "$(printf '%s\n' \
        'direction	query	rank	candidate	score' \
        'i2t	img1	1	c2	0.9' 'i2t	img1	2	c1	0.2' 'i2t	img1	3	c3	0' \
        'i2t	img2	1	c1	0.3' 'i2t	img2	2	c2	0.1' 'i2t	img2	3	c3	0' \
        'i2t	img3	1	c3	0.4' 'i2t	img3	2	c4	-0.5' 'i2t	img3	3	c1	0' \
        't2i	c1	1	img2	0.3' 't2i	c1	2	img1	0.2' 't2i	c1	3	img3	0' \
        't2i	c2	1	img1	0.9' 't2i	c2	2	img2	0.1' 't2i	c2	3	img3	0' \
        't2i	c3	1	img1	0.6' 't2i	c3	2	img3	0.4' 't2i	c3	3	img2	0' \
        't2i	c4	1	img1	-0.5' 't2i	c4	2	img3	-0.5' 't2i	c4	3	img2	0')" ]
}

# A depth of 5 re-ranks all 4 captions of an image and all 3 images of a
# caption. Fused 1 for the pairs with equal keys and 0 for the others puts every
# relevant candidate first, so all ranks become 1, img2's c3 (was 4) included.
@test "rerank depth beyond the candidate count" {
    { printf 'image\tcaption\tscore\n'
      for image in img1:k1 img2:k2 img3:k3; do
          for caption in c1:k1 c2:k1 c3:k2 c4:k3; do
              printf '%s\t%s\t%d\n' "${image%:*}" "${caption%:*}" \
                  "$([ "${image#*:}" = "${caption#*:}" ] && echo 1 || echo 0)"
          done
      done; } > all.tsv
    [ "$(wc -l < all.tsv)" -eq 13 ]
    run --separate-stderr "$RANK" --rerank all.tsv --rerank-depth 5 img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "$output" = 're-ranked: the top 5 of every query by fused scores from all.tsv
images: 3  captions: 4  similarity: fine (temperature 0.1)

direction         R@1     R@5    R@10    medR   meanR
image-to-text  100.00  100.00  100.00     1.0    1.00
text-to-image  100.00  100.00  100.00     1.0    1.00
rSum           600.00' ]

    # img2-c4 is beyond the top 2 of both img2 and c4, but within the top 5.
    grep -v '^img2	c4	' all.tsv > some.tsv
    run --separate-stderr "$RANK" --rerank some.tsv --rerank-depth 5 img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$output" = "" ]
    [ "$stderr" = "snn-rank: some.tsv: no fused score for image 'img2' and caption 'c4', which are in the image-to-text top 5 of image 'img2': score the snn-rank --topk list written with --k 5, the same as --rerank-depth, and the same --similarity" ]
}

@test "rerank names a pair without a fused score" {
    fused_scores | grep -v '^img2	c1	' > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$output" = "" ]
    [ "$stderr" = "snn-rank: fused.tsv: no fused score for image 'img2' and caption 'c1', which are in the image-to-text top 2 of image 'img2': score the snn-rank --topk list written with --k 2, the same as --rerank-depth, and the same --similarity" ]

    # img1-c4 is only in the text-to-image top 2 of c4.
    fused_scores | grep -v '^img1	c4	' > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: fused.tsv: no fused score for image 'img1' and caption 'c4', which are in the text-to-image top 2 of caption 'c4': score the snn-rank --topk list written with --k 2, the same as --rerank-depth, and the same --similarity" ]

    # The default depth of 10 needs all 12 pairs.
    fused_scores > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: fused.tsv: no fused score for image 'img2' and caption 'c3', which are in the image-to-text top 10 of image 'img2': score the snn-rank --topk list written with --k 10, the same as --rerank-depth, and the same --similarity" ]
}

@test "rerank rejects ids of other streams" {
    { fused_scores; printf 'img9\tc1\t0.5\n'; } > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$output" = "" ]
    [ "$stderr" = "snn-rank: fused.tsv: line 11: image id 'img9' is not in img.snn: score the snn-rank --topk list of these streams" ]

    { fused_scores; printf 'img1\tc9\t0.5\n'; } > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: fused.tsv: line 11: caption id 'c9' is not in txt.snn: score the snn-rank --topk list of these streams" ]
}

# rerank_error FILE_LINE MESSAGE: a score file of the good lines with FILE_LINE
# added as line 3 fails with MESSAGE after "fused.tsv: ".
rerank_error() {
    { fused_scores | head -n 2; printf '%s\n' "$1"; fused_scores | tail -n +3; } > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$output" = "" ]
    [ "$stderr" = "snn-rank: fused.tsv: $2" ]
}

@test "rerank rejects malformed lines" {
    rerank_error 'img1	c1' "line 3: expected 3 tab-separated fields (image, caption, score), got 2: pass the output of snn-fuse --score"
    rerank_error 'img1	c1	0.2	x' "line 3: expected 3 tab-separated fields (image, caption, score), got more than 3: pass the output of snn-fuse --score"
    rerank_error '' "line 3: expected 3 tab-separated fields (image, caption, score), got 1: pass the output of snn-fuse --score"
    rerank_error 'img1	c1	high' "line 3: invalid score 'high': expected a finite number"
    rerank_error 'img1	c1	0.2x' "line 3: invalid score '0.2x': expected a finite number"
    rerank_error 'img1	c1	' "line 3: invalid score '': expected a finite number"
    rerank_error 'img1	c1	nan' "line 3: invalid score 'nan': expected a finite number"
    rerank_error 'img1	c1	1e999' "line 3: invalid score '1e999': expected a finite number"
    rerank_error 'im\g1	c1	0.2' 'line 3: invalid escape: only \t, \n, \r and \\ are defined'
}

@test "rerank rejects a file without the header" {
    fused_scores | tail -n +2 > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: fused.tsv: line 1: expected the header image<TAB>caption<TAB>score: pass the output of snn-fuse --score" ]

    : > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-rank: fused.tsv: empty file: expected the header image<TAB>caption<TAB>score: pass the output of snn-fuse --score" ]
}

@test "rerank rejects a pair with two scores" {
    { fused_scores; printf 'img1\tc2\t0.8\n'; } > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$output" = "" ]
    [ "$stderr" = "snn-rank: fused.tsv: lines 3 and 11 give image 'img1' and caption 'c2' different scores (0.9 and 0.8): keep one score per pair" ]
}

@test "rerank reads the scores from stdin" {
    fused_scores > fused.tsv
    run --separate-stderr bash -c "'$RANK' --rerank - --rerank-depth 2 img.snn txt.snn < fused.tsv"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "re-ranked: the top 2 of every query by fused scores from standard input" ]
    [ "${lines[3]}" = "image-to-text   33.33  100.00  100.00     2.0    2.33" ]
    [ "${lines[4]}" = "text-to-image   25.00  100.00  100.00     2.0    2.00" ]
}

@test "rerank reports a missing score file" {
    run --separate-stderr "$RANK" --rerank missing.tsv img.snn txt.snn
    [ "$status" -eq 1 ]
    [ "$output" = "" ]
    [ "$stderr" = "snn-rank: missing.tsv: cannot open: No such file or directory" ]
}

# img4 and c5 are in the streams but dropped, so their scores are not unknown.
@test "rerank ignores scores of dropped records" {
    { images; echo "record img4 k8 1  1 0 0 0  1 0 0 0"; } | "$MKSTREAM" > img_extra.snn
    { captions; echo "record c5 k9 1  1 0 0 0  1 0 0 0"; } | "$MKSTREAM" > txt_extra.snn
    { fused_scores; printf 'img4\tc1\t0.5\nimg1\tc5\t0.5\n'; } > fused.tsv
    run --separate-stderr "$RANK" -q --allow-unmatched --rerank fused.tsv --rerank-depth 2 \
        img_extra.snn txt_extra.snn
    [ "$status" -eq 0 ]
    [ "$output" = "$RERANKED" ]
    [ "$stderr" = "" ]
}

# An image id with a backslash is written as im\\g2 in TSV and read back.
@test "rerank unescapes ids" {
    images | sed 's/img2/im\\g2/' | "$MKSTREAM" > img_bs.snn
    fused_scores | sed 's/img2/im\\\\g2/' > fused.tsv
    grep -q '^im\\\\g2	c1	0.3$' fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 2 --topk top.tsv --k 1 \
        -o metrics.txt img_bs.snn txt.snn
    [ "$status" -eq 0 ]
    [ "$(cat metrics.txt)" = "$RERANKED" ]
    [ "$(sed -n 3p top.tsv)" = 'i2t	im\\g2	1	c1	0.3' ]
    [ "$(sed -n 5p top.tsv)" = 't2i	c1	1	im\\g2	0.3' ]
}

# With depth 1, c2's top 1 is img1, the first of img1 and img2 tied at 0.5, so
# re-ranking puts its relevant img1 above img2: rank 1 where the pessimistic
# tie gave 2. The other ranks stay: i2t 1 4 1, t2i c1 1, c3 3, c4 1.
# t2i ranks 1 1 3 1: R@1 75, median 1, mean 1.5; rSum 66.67 + 75 + 400.
@test "rerank breaks a tie at the depth in stream order" {
    fused_scores > fused.tsv
    run --separate-stderr "$RANK" --rerank fused.tsv --rerank-depth 1 img.snn txt.snn
    [ "$status" -eq 0 ]
    [ "$output" = 're-ranked: the top 1 of every query by fused scores from fused.tsv
images: 3  captions: 4  similarity: fine (temperature 0.1)

direction         R@1     R@5    R@10    medR   meanR
image-to-text   66.67  100.00  100.00     1.0    2.00
text-to-image   75.00  100.00  100.00     1.0    1.50
rSum           541.67' ]
}
