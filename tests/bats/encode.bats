#!/usr/bin/env bats
# snn-encode-img, snn-encode-txt, and snn-rank on their streams: exit status and
# messages for bad models, bad images, bad token streams and streams of two
# different models. Two tiny models (seeds 1 and 2) are trained once per file
# on the built-in emoji dataset.

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
    "$bin/snn-tokenize" -q --build-vocab --dataset "$dataset" --split train \
        --vocab-size 300 -o vocab-small.txt
    # shellcheck disable=SC2086
    "$bin/snn-train" --dataset "$dataset" --vocab vocab.txt $TINY --seed 1 -o model.st
    # shellcheck disable=SC2086
    "$bin/snn-train" --dataset "$dataset" --vocab vocab.txt $TINY --seed 2 -o model2.st
    "$bin/snn-tokenize" -q --vocab vocab.txt --dataset "$dataset" --split test -o test.tok
    "$bin/snn-tokenize" -q --vocab vocab-small.txt --dataset "$dataset" --split test \
        -o test-small.tok
    "$bin/snn-encode-txt" -m model.st -o test.snn test.tok
}

setup() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    BIN="$ROOT/bin"
    IMAGES="$ROOT/examples/emoji/images"
    F="$BATS_FILE_TMPDIR"
    cd "$BATS_TEST_TMPDIR"
    # Two test-split emoji, named by their group so that their keys match the
    # test captions in test.tok.
    cp "$IMAGES/google/1f61f.png" 1f61f.png
    cp "$IMAGES/twitter/1f90e.png" 1f90e.png
}

need_zstd() {
    command -v zstd >/dev/null 2>&1 || skip "zstd not found: install zstd to inspect streams"
}

# The record count in the trailer of a single (not concatenated) stream.
record_count() {
    zstd -dc "$1" | tail -c 12 | head -c 8 | od -An -tu8 | tr -d ' '
}

# The ids of the images in an image stream, in stream order, as snn-rank reads
# them: the i2t lines of its top-1 list against the test captions.
image_ids() {
    "$BIN/snn-rank" -q --allow-unmatched --topk - --k 1 -o metrics.txt "$1" "$F/test.snn" |
        awk -F '\t' '$1 == "i2t" { print $2 }'
}

# No output file or temporary file of that name is left.
assert_no_output() {
    local left
    left="$(find . -maxdepth 1 -name "$1*")"
    echo "left behind: $left"
    [ -z "$left" ]
}

# ---- models

@test "encode-img missing model file" {
    run --separate-stderr "$BIN/snn-encode-img" -m nosuch.st -o out.snn 1f61f.png
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: nosuch.st: cannot open: No such file or directory" ]
    [ "$output" = "" ]
    assert_no_output out.snn
}

@test "encode-txt missing model file" {
    run --separate-stderr "$BIN/snn-encode-txt" -m nosuch.st -o out.snn "$F/test.tok"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-txt: nosuch.st: cannot open: No such file or directory" ]
    assert_no_output out.snn
}

@test "encode-img model that is a text file" {
    printf 'this is not a model\n' > notes.st
    run --separate-stderr "$BIN/snn-encode-img" -m notes.st -o out.snn 1f61f.png
    [ "$status" -eq 1 ]
    # The first 8 bytes "this is " read as the header length.
    [ "$stderr" = "snn-encode-img: notes.st: header length 2338328219631577204 exceeds the limit of 100000000 bytes: the file is damaged or not safetensors" ]
    assert_no_output out.snn
}

@test "encode-txt model shorter than a safetensors header" {
    printf 'hello\n' > short.st
    run --separate-stderr "$BIN/snn-encode-txt" -m short.st -o out.snn "$F/test.tok"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-txt: short.st: file of 6 bytes is too short for safetensors (the header length alone takes 8 bytes)" ]
    assert_no_output out.snn
}

@test "encode-txt safetensors file that is not an snn-itr model" {
    # A valid safetensors file: header length 32, then a JSON header alone.
    { printf '\040\0\0\0\0\0\0\0'; printf '%s' '{"__metadata__":{"format":"pt"}}'; } > pt.st
    run --separate-stderr "$BIN/snn-encode-txt" -m pt.st -o out.snn "$F/test.tok"
    [ "$status" -eq 1 ]
    [ "$stderr" = 'snn-encode-txt: pt.st: not an snn-itr model (metadata "format" is pt)' ]
    assert_no_output out.snn
}

@test "encode-img truncated model file" {
    head -c 1000 "$F/model.st" > cut.st
    run --separate-stderr "$BIN/snn-encode-img" -m cut.st -o out.snn 1f61f.png
    [ "$status" -eq 1 ]
    [[ "$stderr" == "snn-encode-img: cut.st: header length "*" is beyond the file size of 1000 bytes: the file is truncated or not safetensors" ]]
    assert_no_output out.snn
}

# ---- images

@test "encode-img encodes good images" {
    need_zstd
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn 1f61f.png 1f90e.png
    [ "$status" -eq 0 ]
    [ "$stderr" = "" ]
    [ "$(record_count out.snn)" = 2 ]
    [ "$(image_ids out.snn)" = "$(printf '%s\n' 1f61f.png 1f90e.png)" ]
}

@test "encode-img missing image is skipped" {
    need_zstd
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn \
        1f61f.png nosuch.png 1f90e.png
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: nosuch.png: cannot open: No such file or directory
snn-encode-img: 1 of 3 images could not be encoded" ]
    [ "$(record_count out.snn)" = 2 ]
    [ "$(image_ids out.snn)" = "$(printf '%s\n' 1f61f.png 1f90e.png)" ]
}

@test "encode-img text file named .png is skipped" {
    need_zstd
    echo 'not an image' > x.png
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn \
        1f61f.png x.png 1f90e.png
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: x.png: not a PNG file (bad signature)
snn-encode-img: 1 of 3 images could not be encoded" ]
    [ "$(record_count out.snn)" = 2 ]
    [ "$(image_ids out.snn)" = "$(printf '%s\n' 1f61f.png 1f90e.png)" ]
}

@test "encode-img truncated PNG is skipped" {
    need_zstd
    head -c 100 1f61f.png > trunc.png
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn \
        1f61f.png trunc.png 1f90e.png
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: trunc.png: truncated or corrupt PNG: unexpected end of file
snn-encode-img: 1 of 3 images could not be encoded" ]
    [ "$(record_count out.snn)" = 2 ]
    [ "$(image_ids out.snn)" = "$(printf '%s\n' 1f61f.png 1f90e.png)" ]
}

@test "encode-img empty file and directory are skipped" {
    need_zstd
    : > empty.png
    mkdir adir
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn \
        empty.png 1f61f.png adir
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: empty.png: not a PNG file (bad signature)
snn-encode-img: adir: read failed: Is a directory
snn-encode-img: 2 of 3 images could not be encoded" ]
    [ "$(record_count out.snn)" = 1 ]
}

@test "encode-img reports each bad image in order" {
    need_zstd
    echo 'not an image' > x.png
    head -c 100 1f61f.png > trunc.png
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn \
        nosuch.png 1f61f.png x.png trunc.png 1f90e.png
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: nosuch.png: cannot open: No such file or directory
snn-encode-img: x.png: not a PNG file (bad signature)
snn-encode-img: trunc.png: truncated or corrupt PNG: unexpected end of file
snn-encode-img: 3 of 5 images could not be encoded" ]
    [ "$(record_count out.snn)" = 2 ]
    [ "$(image_ids out.snn)" = "$(printf '%s\n' 1f61f.png 1f90e.png)" ]
}

@test "encode-img --list skips a bad entry" {
    need_zstd
    printf '1f61f.png\nnosuch.png\n\n1f90e.png\tsome-key\n' > list.txt
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn --list list.txt
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: nosuch.png: cannot open: No such file or directory
snn-encode-img: 1 of 3 images could not be encoded" ]
    [ "$(record_count out.snn)" = 2 ]
    # The explicit key of 1f90e.png matches no caption, so only 1f61f.png is ranked.
    [ "$(image_ids out.snn)" = "1f61f.png" ]
}

@test "encode-img --dataset skips a missing image" {
    need_zstd
    cat > data.json <<'EOF'
{"images": [
 {"filename": "1f61f.png", "split": "test", "imgid": 0, "group": "1f61f", "sentences": []},
 {"filename": "gone.png", "filepath": "sub", "split": "test", "imgid": 1, "sentences": []}]}
EOF
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn --dataset data.json
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: sub/gone.png: cannot open: No such file or directory
snn-encode-img: 1 of 2 images could not be encoded" ]
    [ "$(record_count out.snn)" = 1 ]
}

@test "encode-img failure count covers this shard only" {
    need_zstd
    # Shard 0/2 takes items 0 and 2: 1f61f.png and nosuch.png.
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn --shard 0/2 \
        1f61f.png 1f90e.png nosuch.png x.png
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: nosuch.png: cannot open: No such file or directory
snn-encode-img: 1 of 2 images could not be encoded" ]
    [ "$(record_count out.snn)" = 1 ]
}

@test "encode-img shards concatenate to the whole set" {
    need_zstd
    "$BIN/snn-encode-img" -m "$F/model.st" --shard 0/2 -o s0.snn 1f61f.png 1f90e.png
    "$BIN/snn-encode-img" -m "$F/model.st" --shard 1/2 -o s1.snn 1f61f.png 1f90e.png
    [ "$(record_count s0.snn)" = 1 ]
    [ "$(record_count s1.snn)" = 1 ]
    cat s1.snn s0.snn > all.snn
    [ "$(image_ids all.snn)" = "$(printf '%s\n' 1f90e.png 1f61f.png)" ]
}

@test "encode-img output does not depend on --batch" {
    "$BIN/snn-encode-img" -m "$F/model.st" --batch 1 -o b1.snn 1f61f.png 1f90e.png
    "$BIN/snn-encode-img" -m "$F/model.st" --batch 64 -o b64.snn 1f61f.png 1f90e.png
    cmp b1.snn b64.snn
}

@test "encode-img writes the same stream to stdout and -o" {
    "$BIN/snn-encode-img" -m "$F/model.st" -o file.snn 1f61f.png
    "$BIN/snn-encode-img" -m "$F/model.st" 1f61f.png > stdout.snn
    cmp file.snn stdout.snn
}

@test "encode-img rejects a directory as output" {
    mkdir out.snn
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn 1f61f.png
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: cannot open out.snn: Is a directory" ]
    [ -z "$(find . -maxdepth 1 -name 'out.snn.tmp.*')" ]
}

@test "encode-img writes into a FIFO given as -o" {
    # Renaming a temporary file over the FIFO would replace it with a regular
    # file; the same rename over -o /dev/null replaces the device when run as
    # root. Holding the FIFO open for reading and writing keeps open() from
    # blocking, and its buffer takes the small stream.
    mkfifo out.fifo
    exec {reader}<>out.fifo
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.fifo 1f61f.png
    exec {reader}>&-
    [ "$status" -eq 0 ]
    [ "$stderr" = "" ]
    [ -p out.fifo ]
    [ -z "$(find . -maxdepth 1 -name 'out.fifo.tmp.*')" ]
}

# ---- token streams

@test "encode-txt reads a file and stdin alike" {
    need_zstd
    "$BIN/snn-encode-txt" -m "$F/model.st" -o file.snn "$F/test.tok"
    "$BIN/snn-encode-txt" -m "$F/model.st" < "$F/test.tok" > stdin.snn
    cmp file.snn stdin.snn
    [ "$(record_count file.snn)" = "$(record_count "$F/test.tok")" ]
}

@test "encode-txt output does not depend on --batch" {
    "$BIN/snn-encode-txt" -m "$F/model.st" --batch 1 -o b1.snn "$F/test.tok"
    "$BIN/snn-encode-txt" -m "$F/model.st" -o b256.snn "$F/test.tok"
    cmp b1.snn b256.snn
}

@test "encode-txt reads concatenated token streams" {
    need_zstd
    n="$(record_count "$F/test.tok")"
    cat "$F/test.tok" "$F/test.tok" | "$BIN/snn-encode-txt" -m "$F/model.st" -o out.snn
    [ "$(record_count out.snn)" = "$((2 * n))" ]
}

@test "encode-txt truncated token stream" {
    head -c 100 "$F/test.tok" > cut.tok
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" -o out.snn cut.tok
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-txt: cut.tok: truncated stream (the last zstd frame is incomplete): the file was cut off; re-run the program that wrote it" ]
    assert_no_output out.snn
}

@test "encode-txt token stream cut inside a record" {
    need_zstd
    printf 'grinning face\nsmiling eyes\nthumbs up\nred heart\nface with tears of joy\n' > caps.txt
    "$BIN/snn-tokenize" --vocab "$F/vocab.txt" -o caps.tok caps.txt
    size="$(zstd -dc caps.tok | wc -c)"
    # Without the 16-byte trailer and the CRC32 of record 5.
    zstd -dc caps.tok | head -c "$((size - 20))" | zstd -q > cut.tok
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" -o out.snn cut.tok
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-txt: cut.tok: record 5: truncated stream (no trailer): the file was cut off; re-run the program that wrote it" ]
    assert_no_output out.snn
}

@test "encode-txt truncated stream on stdin" {
    head -c 100 "$F/test.tok" > cut.tok
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" -o out.snn < cut.tok
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-txt: standard input: truncated stream (the last zstd frame is incomplete): the file was cut off; re-run the program that wrote it" ]
}

@test "encode-txt empty input" {
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" -o out.snn < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-txt: standard input: empty input (0 bytes) where an snn stream was expected: check the program that should have written it" ]
    assert_no_output out.snn
}

@test "encode-txt image stream instead of tokens" {
    "$BIN/snn-encode-img" -m "$F/model.st" -o img.snn 1f61f.png
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" -o out.snn img.snn
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-txt: img.snn: a stream of image spikes, expected token ids: pipe snn-tokenize output here" ]
    assert_no_output out.snn
}

@test "encode-txt model file instead of tokens" {
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" -o out.snn "$F/model.st"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "snn-encode-txt: $F/model.st: not a zstd-compressed stream "* ]]
    assert_no_output out.snn
}

@test "encode-txt tokens of another vocabulary" {
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" -o out.snn "$F/test-small.tok"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-txt: $F/test-small.tok: tokenised with another vocabulary than $F/model.st was trained with: run snn-tokenize with the model's --vocab" ]
    assert_no_output out.snn
}

@test "encode-txt caption longer than the model takes" {
    printf '%s\n' "$(printf 'face %.0s' $(seq 40))" > long.txt
    "$BIN/snn-tokenize" --vocab "$F/vocab.txt" --max-length 40 -o long.tok long.txt
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" -o out.snn long.tok
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-txt: long.tok: record 1 (long.txt:1): 40 tokens, the model takes 1 to 32: run snn-tokenize with --max-length 32" ]
    assert_no_output out.snn
}

# ---- streams of two models

@test "rank rejects a text stream of another model" {
    "$BIN/snn-encode-img" -m "$F/model.st" -o img1.snn 1f61f.png 1f90e.png
    "$BIN/snn-encode-txt" -m "$F/model2.st" -o txt2.snn "$F/test.tok"
    run --separate-stderr "$BIN/snn-rank" img1.snn txt2.snn
    [ "$status" -eq 1 ]
    [[ "$stderr" == "snn-rank: txt2.snn: written by another model (fingerprint "*", images have "*"): encode both with the same model" ]]
    [ "$output" = "" ]
}

@test "rank rejects an image stream of another model" {
    "$BIN/snn-encode-img" -m "$F/model2.st" -o img2.snn 1f61f.png 1f90e.png
    "$BIN/snn-encode-txt" -m "$F/model.st" -o txt1.snn "$F/test.tok"
    run --separate-stderr "$BIN/snn-rank" img2.snn txt1.snn
    [ "$status" -eq 1 ]
    [[ "$stderr" == "snn-rank: txt1.snn: written by another model (fingerprint "*", images have "*"): encode both with the same model" ]]
}

@test "rank rejects concatenated images of two models" {
    "$BIN/snn-encode-img" -m "$F/model.st" -o img1.snn 1f61f.png
    "$BIN/snn-encode-img" -m "$F/model2.st" -o img2.snn 1f90e.png
    "$BIN/snn-encode-txt" -m "$F/model.st" -o txt1.snn "$F/test.tok"
    cat img1.snn img2.snn > mixed.snn
    run --separate-stderr "$BIN/snn-rank" mixed.snn txt1.snn
    [ "$status" -eq 1 ]
    [[ "$stderr" == "snn-rank: mixed.snn"*"another model"* ]]
}

@test "rank scores streams of one model" {
    "$BIN/snn-encode-img" -m "$F/model2.st" -o img2.snn 1f61f.png 1f90e.png
    "$BIN/snn-encode-txt" -m "$F/model2.st" -o txt2.snn "$F/test.tok"
    run --separate-stderr "$BIN/snn-rank" --allow-unmatched img2.snn txt2.snn
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "images: 2  captions: "*"  similarity: fine (temperature 0.1)" ]]
}

# ---- usage errors

@test "encoders reject an unknown option" {
    for program in snn-encode-img snn-encode-txt; do
        run --separate-stderr "$BIN/$program" --bogus -m "$F/model.st"
        [ "$status" -eq 2 ]
        [ "$stderr" = "$program: unknown option '--bogus'
Try '$program --help' for more information." ]
        [ "$output" = "" ]
    done
}

@test "encoders need -m" {
    run --separate-stderr "$BIN/snn-encode-img" 1f61f.png
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-encode-img: missing -m MODEL
Try 'snn-encode-img --help' for more information." ]
    run --separate-stderr "$BIN/snn-encode-txt" "$F/test.tok"
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-encode-txt: missing -m MODEL
Try 'snn-encode-txt --help' for more information." ]
}

@test "encoders reject a bad --batch" {
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" --batch 0 1f61f.png
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-encode-img: --batch must be between 1 and 65536, got 0
Try 'snn-encode-img --help' for more information." ]
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" --batch 12x "$F/test.tok"
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-encode-txt: invalid number for --batch: '12x'
Try 'snn-encode-txt --help' for more information." ]
}

@test "encoders reject an option without its value" {
    run --separate-stderr "$BIN/snn-encode-img" 1f61f.png -m
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-encode-img: option '-m' needs a value
Try 'snn-encode-img --help' for more information." ]
}

@test "encode-img needs exactly one input source" {
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st"
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-encode-img: give exactly one input: image files, --list FILE or --dataset FILE
Try 'snn-encode-img --help' for more information." ]
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" --list list.txt 1f61f.png
    [ "$status" -eq 2 ]
}

@test "encode-img rejects a bad --shard" {
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" --shard 2/2 1f61f.png
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-encode-img: --shard index must be between 0 and 1, got 2
Try 'snn-encode-img --help' for more information." ]
}

@test "encode-txt takes one token stream" {
    run --separate-stderr "$BIN/snn-encode-txt" -m "$F/model.st" a.tok b.tok
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-encode-txt: expected one token stream, got 2
Try 'snn-encode-txt --help' for more information." ]
}

@test "encoders print help and version" {
    for program in snn-encode-img snn-encode-txt; do
        run --separate-stderr "$BIN/$program" --help
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == "Usage: $program -m MODEL [options]"* ]]
        [ "$stderr" = "" ]
        run --separate-stderr "$BIN/$program" --version
        [ "$status" -eq 0 ]
        [[ "$output" == "$program snn-itr "[0-9]* ]]
    done
}

@test "encode-img writes no stream when every image fails" {
    printf 'not a png\n' > x.png
    run --separate-stderr "$BIN/snn-encode-img" -m "$F/model.st" -o out.snn nosuch.png x.png
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-encode-img: nosuch.png: cannot open: No such file or directory
snn-encode-img: x.png: not a PNG file (bad signature)
snn-encode-img: none of the 2 images could be encoded" ]
    [ ! -e out.snn ]
    [ -z "$(find . -maxdepth 1 -name 'out.snn.tmp.*')" ]
}
