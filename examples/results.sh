#!/bin/sh
# Trains the rows of docs/results.md and appends one line per run to
# $OUT/runs.tsv: row, seed, training seconds, mean firing rate of the kept
# epoch, test-split R@1/5/10 in both directions, rSum and the command.
#
# Usage: sh examples/results.sh ROW[:SEED,SEED...] ...
#   rows: fusion-t1 fusion-t2 fusion-t4 nofusion-t2 ann; seed 1 by default.
#   sh examples/results.sh summary   prints the table of $OUT/runs.tsv
#   sh examples/results.sh rerank MODEL...   re-ranks the test split's top 10
#       of each query with fused scores and appends the R@1 before and after
#       to $OUT/rerank.tsv
#
# Environment: DATA (dataset JSON, the full emoji set by default), OUT,
# EPOCHS, THREADS. Every row shares the options in $common.
set -eu

bin=${BIN:-bin}
data=${DATA:-data/full/dataset.json}
out=${OUT:-build/results}
epochs=${EPOCHS:-12}
threads=${THREADS:-2}
common="--dim 128 --stem-channels 16 --learn-vth 0.5 --lr 2e-3 --shift 3"

row_options() {
    case $1 in
    fusion-t1) echo "--fusion-weight 0.1 --time-steps 1" ;;
    fusion-t2) echo "--fusion-weight 0.1 --time-steps 2" ;;
    fusion-t4) echo "--fusion-weight 0.1 --time-steps 4" ;;
    nofusion-t2) echo "--fusion-weight 0 --time-steps 2" ;;
    ann) echo "--fusion-weight 0.1 --ann" ;;
    *) echo "results.sh: unknown row '$1': the rows are fusion-t1 fusion-t2 fusion-t4 nofusion-t2 ann" >&2
       return 1 ;;
    esac
}

# One table line per row: the mean and the sample standard deviation over
# its seeds of each metric and of the training time.
summary() {
    echo "| row | seeds | i2t R@1 | R@5 | R@10 | t2i R@1 | R@5 | R@10 | rSum | train s | rate |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    awk -F '\t' '
    { n[$1]++; for (c = 3; c <= 12; c++) { s[$1, c] += $c; q[$1, c] += $c * $c } }
    END {
        for (r in n) {
            line = "| " r " | " n[r]
            for (c = 5; c <= 11; c++) line = line " | " cell(r, c)
            line = line " | " cell(r, 3) " | " sprintf("%.3f", s[r, 4] / n[r]) " |"
            print line
        }
    }
    function cell(r, c,   m, v) {
        m = s[r, c] / n[r]
        if (n[r] < 2) return sprintf("%.2f", m)
        v = (q[r, c] - n[r] * m * m) / (n[r] - 1)
        return sprintf("%.2f ± %.2f", m, v > 0 ? sqrt(v) : 0)
    }' "$out/runs.tsv" | sort
}

# R@1 in both directions from snn-rank --json output.
r1() {
    tr -d ' \n' < "$1" | sed 's/.*"i2t":{"r1":\([0-9.]*\).*"t2i":{"r1":\([0-9.]*\).*"rsum":\([0-9.]*\).*/\1 \2 \3/'
}

rerank() {
    model=$1
    name=$out/$(basename "$model" .st)
    "$bin/snn-encode-img" -m "$model" --features --threads "$threads" --dataset "$data" \
        --split test -o "$name.img.snn"
    "$bin/snn-tokenize" --vocab "$out/vocab.txt" --dataset "$data" --split test |
        "$bin/snn-encode-txt" -m "$model" --features --threads "$threads" -o "$name.txt.snn"
    "$bin/snn-rank" --threads "$threads" --json --topk "$name.top10.tsv" --k 10 \
        "$name.img.snn" "$name.txt.snn" > "$name.before.json"
    "$bin/snn-fuse" -m "$model" --threads "$threads" --score --pairs "$name.top10.tsv" \
        "$name.img.snn" "$name.txt.snn" -o "$name.fused.tsv"
    "$bin/snn-rank" --threads "$threads" --json --rerank "$name.fused.tsv" --rerank-depth 10 \
        "$name.img.snn" "$name.txt.snn" > "$name.after.json"
    printf '%s\t%s\t%s\n' "$model" "$(r1 "$name.before.json")" "$(r1 "$name.after.json")" |
        tr ' ' '\t' | tee -a "$out/rerank.tsv"
}

mkdir -p "$out"
if [ "${1-}" = summary ]; then
    summary
    exit 0
fi
if [ "${1-}" = rerank ]; then
    shift
    for model in "$@"; do
        rerank "$model"
    done
    exit 0
fi

if [ ! -s "$out/vocab.txt" ]; then
    "$bin/snn-tokenize" --build-vocab --dataset "$data" --split train -o "$out/vocab.txt"
fi

for spec in "$@"; do
    row=${spec%%:*}
    seeds=1
    [ "$spec" = "$row" ] || seeds=$(echo "${spec#*:}" | tr ',' ' ')
    opts=$(row_options "$row")
    for seed in $seeds; do
        name="$out/$row.s$seed"
        cmd="snn-train --dataset $data --vocab $out/vocab.txt --epochs $epochs --seed $seed $common $opts --test-split test -o $name.st --log $name.tsv"
        echo "== $row, seed $seed"
        started=$(date +%s)
        # shellcheck disable=SC2086 # the option lists are split on purpose
        "$bin/snn-train" --threads "$threads" --dataset "$data" --vocab "$out/vocab.txt" \
            --epochs "$epochs" --seed "$seed" $common $opts --test-split test \
            -o "$name.st" --log "$name.tsv" 2> "$name.err"
        seconds=$(($(date +%s) - started))
        kept=$(sed -n 's/.*: epoch \([0-9]*\), the best.*/\1/p' "$name.err")
        kept=${kept:-$epochs}
        rate=$(awk -F '\t' -v e="$kept" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "rate_mean") c = i }
            NR > 1 && $1 == e { print $c }' "$name.tsv")
        num='\([0-9.]*\)'
        sed -n "s/.*\"r1\": $num, \"r5\": $num, \"r10\": $num}.*\"r1\": $num, \"r5\": $num, \"r10\": $num}, \"rsum\": $num}.*/\1 \2 \3 \4 \5 \6 \7/p" "$name.err" | awk -v r="$row" -v s="$seed" \
            -v t="$seconds" -v f="$rate" -v c="$cmd" 'BEGIN { OFS = "\t" }
            { print r, s, t, f, $1, $2, $3, $4, $5, $6, $7, c }' >> "$out/runs.tsv"
        tail -n 1 "$out/runs.tsv" | cut -f 1-11
    done
done
