#!/usr/bin/env bats
# snn-fuse and the --features streams of the encoders: stream bytes against
# snn-stream(5), pairing, batch independence, the --pairs and top-k inputs, and
# the messages for bad input. Tiny models with and without fusion are trained
# once per file on the built-in emoji dataset.

bats_require_minimum_version 1.5.0

TINY='--epochs 1 --dim 16 --heads 2 --ffn-hidden 32 --image-size 16 --grid 4
      --stem-channels 4 --val-split none --threads 1 -q'

setup_file() {
    local root bin dataset
    root="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    bin="$root/bin"
    dataset="$root/examples/emoji/dataset.json"
    cd "$BATS_FILE_TMPDIR"
    "$bin/snn-tokenize" -q --build-vocab --dataset "$dataset" --split train -o vocab.txt
    # shellcheck disable=SC2086
    "$bin/snn-train" --dataset "$dataset" --vocab vocab.txt $TINY --fusion-weight 1 -o fused.st
    # shellcheck disable=SC2086
    "$bin/snn-train" --dataset "$dataset" --vocab vocab.txt $TINY --fusion-weight 0 -o plain.st
    # shellcheck disable=SC2086
    "$bin/snn-train" --dataset "$dataset" --vocab vocab.txt $TINY --fusion-weight 1 --seed 2 \
        -o other.st
    "$bin/snn-tokenize" -q --vocab vocab.txt --dataset "$dataset" --split test -o test.tok
    for m in fused other; do
        "$bin/snn-encode-img" -m $m.st --features --dataset "$dataset" --split test -o $m-img.snn
        "$bin/snn-encode-txt" -m $m.st --features -o $m-txt.snn test.tok
    done
    "$bin/snn-encode-img" -m fused.st --dataset "$dataset" --split test -o nofeat-img.snn
    "$bin/snn-encode-txt" -m fused.st -o nofeat-txt.snn test.tok
    # Three images and three captions in aligned order.
    printf 'worried face\nred heart\nsmiling cat\n' |
        "$bin/snn-tokenize" -q --vocab vocab.txt -o three.tok
    printf '%s\n' "$root/examples/emoji/images/google/1f61f.png" \
        "$root/examples/emoji/images/twitter/1f90e.png" \
        "$root/examples/emoji/images/google/1f17e-fe0f.png" > three.list
    "$bin/snn-encode-img" -m fused.st --features --list three.list -o three-img.snn
    "$bin/snn-encode-txt" -m fused.st --features -o three-txt.snn three.tok
}

setup() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    BIN="$ROOT/bin"
    F="$BATS_FILE_TMPDIR"
    cd "$BATS_TEST_TMPDIR"
}

# Unsigned little-endian integer of $3 bytes at offset $2 of the decompressed
# stream $1.
field() {
    zstd -dc "$1" | od -An -tu"$3" -j "$2" -N "$3" | tr -d ' '
}

# ---- streams with features

@test "encode-img --features writes kind 6 with the features after the spikes" {
    [ "$(field "$F/fused-img.snn" 12 4)" = 6 ]
    local T D bits n id key
    T=$(field "$F/fused-img.snn" 32 4)
    D=$(field "$F/fused-img.snn" 36 4)
    bits=$(field "$F/fused-img.snn" 40 4)
    id=$(field "$F/fused-img.snn" 84 4)
    key=$(field "$F/fused-img.snn" 88 4)
    n=$(field "$F/fused-img.snn" 92 4)
    [ "$T" = 2 ] && [ "$D" = 16 ] && [ "$n" = 16 ]
    # payload_length = ceil(T*n*D*bits/8) + 4*n*D
    [ "$(field "$F/fused-img.snn" 96 8)" = $(((T * n * D * bits + 7) / 8 + 4 * n * D)) ]
    # The plain stream's first record is the same but for the features.
    [ "$(field "$F/nofeat-img.snn" 12 4)" = 2 ]
    [ "$(field "$F/nofeat-img.snn" 96 8)" = $(((T * n * D * bits + 7) / 8)) ]
    [ "$id" -gt 0 ] && [ "$key" -gt 0 ]
}

@test "encode-txt --features writes kind 7 with the vocabulary fingerprint" {
    [ "$(field "$F/fused-txt.snn" 12 4)" = 7 ]
    [ "$(field "$F/fused-txt.snn" 24 8)" = "$(field "$F/nofeat-txt.snn" 24 8)" ]
    [ "$(field "$F/fused-txt.snn" 24 8)" != 0 ]
}

@test "rank gives the same metrics on streams with and without features" {
    run "$BIN/snn-rank" --json "$F/fused-img.snn" "$F/fused-txt.snn"
    [ "$status" -eq 0 ]
    local with="$output"
    run "$BIN/snn-rank" --json "$F/nofeat-img.snn" "$F/nofeat-txt.snn"
    [ "$status" -eq 0 ]
    [ "$output" = "$with" ]
}

# ---- fusion

@test "fuse aligned records: the ids of record i pair up" {
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" --score "$F/three-img.snn" \
        "$F/three-txt.snn"
    [ "$status" -eq 0 ]
    # The model line carries the fingerprint that the stream headers carry.
    [ "${lines[0]}" = "# model $(field "$F/three-img.snn" 16 8 | xargs printf '%016x')" ]
    [ "${lines[1]}" = "image	caption	score" ]
    [ "${#lines[@]}" -eq 5 ]
    [[ "${lines[2]}" == "$ROOT/examples/emoji/images/google/1f61f.png	1	"* ]]
    [[ "${lines[3]}" == "$ROOT/examples/emoji/images/twitter/1f90e.png	2	"* ]]
    [[ "${lines[4]}" == "$ROOT/examples/emoji/images/google/1f17e-fe0f.png	3	"* ]]
    # Fine similarity of unit vectors lies in [-1, 1].
    awk -F '\t' 'NR > 2 && ($3 < -1 || $3 > 1 || $3 == "") { bad = 1 } END { exit bad }' \
        <<< "$output"
}

@test "fuse output does not depend on the batch size" {
    "$BIN/snn-fuse" -m "$F/fused.st" --batch 1 "$F/three-img.snn" "$F/three-txt.snn" -o b1.snn
    "$BIN/snn-fuse" -m "$F/fused.st" --batch 2 "$F/three-img.snn" "$F/three-txt.snn" -o b2.snn
    "$BIN/snn-fuse" -m "$F/fused.st" "$F/three-img.snn" "$F/three-txt.snn" -o b64.snn
    cmp b1.snn b2.snn
    cmp b1.snn b64.snn
}

@test "fuse --pairs in aligned order gives the aligned output" {
    "$BIN/snn-fuse" -m "$F/fused.st" --score "$F/three-img.snn" "$F/three-txt.snn" > aligned.tsv
    tail -n +2 aligned.tsv | cut -f 1,2 > pairs.tsv
    "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs pairs.tsv "$F/three-img.snn" \
        "$F/three-txt.snn" > listed.tsv
    cmp aligned.tsv listed.tsv
    # Without the header line and from standard input as well.
    tail -n +2 pairs.tsv | "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs - \
        "$F/three-img.snn" "$F/three-txt.snn" > stdin.tsv
    cmp aligned.tsv stdin.tsv
}

@test "fuse pairs in another order: each pair keeps its score" {
    "$BIN/snn-fuse" -m "$F/fused.st" --score "$F/three-img.snn" "$F/three-txt.snn" > aligned.tsv
    tail -n +3 aligned.tsv | tac | cut -f 1,2 > reversed.tsv
    "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs reversed.tsv "$F/three-img.snn" \
        "$F/three-txt.snn" > out.tsv
    [ "$(tail -n +3 out.tsv | sort)" = "$(tail -n +3 aligned.tsv | sort)" ]
    [ "$(sed -n 3p out.tsv)" = "$(sed -n 5p aligned.tsv)" ]
}

@test "fuse stream: image then caption record per pair, --side keeps one" {
    "$BIN/snn-fuse" -m "$F/fused.st" "$F/three-img.snn" "$F/three-txt.snn" -o both.snn
    "$BIN/snn-fuse" -m "$F/fused.st" --side caption "$F/three-img.snn" "$F/three-txt.snn" \
        -o caption.snn
    [ "$(field both.snn 12 4)" = 4 ]
    [ "$(field both.snn 36 4)" = 16 ]
    [ "$(zstd -dc both.snn | tail -c 12 | od -An -tu8 -N 8 | tr -d ' ')" = 6 ]
    [ "$(zstd -dc caption.snn | tail -c 12 | od -An -tu8 -N 8 | tr -d ' ')" = 3 ]
    # The first record of both.snn is the fused image: 16 rows of 16 floats,
    # its id the image path and its key the caption id "1".
    local idlen
    idlen=$(field both.snn 84 4)
    [ "$(field both.snn 88 4)" = 1 ]
    [ "$(field both.snn 92 4)" = 16 ]
    [ "$(field both.snn 96 8)" = 1024 ]
    [ "$(zstd -dc both.snn | tail -c +105 | head -c "$idlen")" = \
      "$ROOT/examples/emoji/images/google/1f61f.png" ]
    # In caption.snn the first record is the caption: id "1", 4 + 2 tokens at
    # most, its key the image path.
    [ "$(field caption.snn 84 4)" = 1 ]
    [ "$(field caption.snn 88 4)" = "$idlen" ]
}

@test "fuse the top-k lists of snn-rank: every listed pair is scored once" {
    "$BIN/snn-rank" -q --topk top.tsv --k 3 -o /dev/null "$F/fused-img.snn" "$F/fused-txt.snn"
    "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs top.tsv "$F/fused-img.snn" \
        "$F/fused-txt.snn" -o scores.tsv
    awk -F '\t' 'NR > 1 { print ($1 == "i2t" ? $2 "\t" $4 : $4 "\t" $2) }' top.tsv |
        sort -u > want.txt
    tail -n +3 scores.tsv | cut -f 1,2 | sort > got.txt
    [ "$(wc -l < got.txt)" -gt 240 ]
    cmp want.txt got.txt
    # No pair twice.
    [ "$(sort -u got.txt | wc -l)" -eq "$(wc -l < got.txt)" ]
}

# ---- bad input

@test "fuse streams without features" {
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" -o out.tsv --score \
        "$F/nofeat-img.snn" "$F/fused-txt.snn"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-fuse: $F/nofeat-img.snn: image spikes without the float features that fusion adds back: encode again with snn-encode-img --features" ]
    [ ! -e out.tsv ]
}

@test "fuse image and caption streams swapped" {
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" "$F/fused-txt.snn" "$F/fused-img.snn"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-fuse: $F/fused-txt.snn: a stream of text spikes with features, expected image spikes: write it with snn-encode-img --features" ]
}

@test "fuse with a model without fusion modules" {
    run --separate-stderr "$BIN/snn-fuse" -m "$F/plain.st" "$F/fused-img.snn" "$F/fused-txt.snn"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-fuse: $F/plain.st: the model has no fusion modules: train it with a --fusion-weight above 0" ]
}

@test "fuse streams of another model" {
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" -o out.snn "$F/fused-img.snn" \
        "$F/other-txt.snn"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "snn-fuse: $F/other-txt.snn: written by another model (fingerprint "*", $F/fused.st has "*"): encode with the model given to -m" ]]
    [ ! -e out.snn ]
}

@test "fuse aligned streams of different lengths" {
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" -o out.snn "$F/three-img.snn" \
        "$F/fused-txt.snn"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-fuse: $F/three-img.snn has fewer records than $F/fused-txt.snn: aligned pairs need equal counts, or name the pairs with --pairs" ]
    [ ! -e out.snn ]
}

@test "fuse pairs naming an unknown caption" {
    printf 'image\tcaption\n%s\t1\n%s\t99\n' "$ROOT/examples/emoji/images/google/1f61f.png" \
        "$ROOT/examples/emoji/images/google/1f61f.png" > pairs.tsv
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs pairs.tsv \
        -o out.tsv "$F/three-img.snn" "$F/three-txt.snn"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-fuse: pairs.tsv: line 3: caption '99' is not in $F/three-txt.snn: the pairs must name records of the streams given" ]
    [ ! -e out.tsv ]
}

@test "fuse pairs with a malformed line or a bad escape" {
    printf 'only-one-field\n' > one.tsv
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs one.tsv \
        "$F/three-img.snn" "$F/three-txt.snn"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-fuse: one.tsv: line 1: 1 field, expected an image id and a caption id separated by a tab" ]
    printf 'a\\qb\t1\n' > escape.tsv
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs escape.tsv \
        "$F/three-img.snn" "$F/three-txt.snn"
    [ "$status" -eq 1 ]
    [ "$stderr" = 'snn-fuse: escape.tsv: line 1: a backslash escape other than \t \n \r \\' ]
}

@test "fuse pairs file without pairs" {
    printf 'image\tcaption\n' > header.tsv
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs header.tsv \
        -o out.tsv "$F/three-img.snn" "$F/three-txt.snn"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-fuse: header.tsv: no pairs to fuse: the file is empty or contains only a header" ]
    [ ! -e out.tsv ]
    # Nothing reaches standard output either.
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs /dev/null \
        "$F/three-img.snn" "$F/three-txt.snn"
    [ "$status" -eq 1 ]
    [ "$output" = "" ]
}

@test "rerank with scores of another model, and with CRLF line ends" {
    "$BIN/snn-rank" -q --topk top.tsv -o /dev/null "$F/fused-img.snn" "$F/fused-txt.snn"
    "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs top.tsv "$F/fused-img.snn" \
        "$F/fused-txt.snn" -o scores.tsv
    run --separate-stderr "$BIN/snn-rank" --rerank scores.tsv "$F/other-img.snn" \
        "$F/other-txt.snn"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "snn-rank: scores.tsv: scores of another model (fingerprint "*", the streams have "*"): run snn-fuse with the model that encoded the streams" ]]
    sed 's/$/\r/' scores.tsv > crlf.tsv
    run "$BIN/snn-rank" --json --rerank scores.tsv "$F/fused-img.snn" "$F/fused-txt.snn"
    [ "$status" -eq 0 ]
    local lf="$output"
    run "$BIN/snn-rank" --json --rerank crlf.tsv "$F/fused-img.snn" "$F/fused-txt.snn"
    [ "$status" -eq 0 ]
    [ "${output//crlf.tsv/scores.tsv}" = "$lf" ]
}

@test "fuse top-k file with a bad direction" {
    printf 'direction\tquery\trank\tcandidate\tscore\nx2y\ta\t1\tb\t0.5\n' > top.tsv
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" --score --pairs top.tsv \
        "$F/three-img.snn" "$F/three-txt.snn"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-fuse: top.tsv: line 2: 5 fields, expected 'i2t' or 't2i', query, rank, candidate and score: pass the file of snn-rank --topk unchanged" ]
}

@test "fuse usage errors" {
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" "$F/three-img.snn"
    [ "$status" -eq 2 ]
    [ "${stderr%%$'\n'*}" = "snn-fuse: expected two inputs, IMAGES.snn and CAPTIONS.snn, not 1" ]
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" --pairs - - "$F/three-txt.snn"
    [ "$status" -eq 2 ]
    [ "${stderr%%$'\n'*}" = "snn-fuse: only one of IMAGES, CAPTIONS and --pairs can be standard input" ]
    run --separate-stderr "$BIN/snn-fuse" -m "$F/fused.st" --side left "$F/three-img.snn" \
        "$F/three-txt.snn"
    [ "$status" -eq 2 ]
    [ "${stderr%%$'\n'*}" = "snn-fuse: --side must be image, caption or both, not 'left'" ]
    run --separate-stderr "$BIN/snn-fuse" "$F/three-img.snn" "$F/three-txt.snn"
    [ "$status" -eq 2 ]
    [ "${stderr%%$'\n'*}" = "snn-fuse: missing -m MODEL" ]
}
