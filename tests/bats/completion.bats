#!/usr/bin/env bats
# Shell completions in completions/: the bash function is called directly with
# COMP_WORDS and COMP_CWORD set, as bash would call it; the zsh function runs in
# an interactive zsh on a pseudo-terminal (zsh/zpty) when zsh is installed.

bats_require_minimum_version 1.5.0

PROGRAMS='snn-tokenize snn-encode-img snn-encode-txt snn-train snn-rank snn-fuse'

setup() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    # shellcheck source=../../completions/snn-itr.bash
    source "$ROOT/completions/snn-itr.bash"
    cd "$BATS_TEST_TMPDIR"
    mkdir -p images/sub
    touch data.json other.json vocab.txt model.st a.png B.PNG notes.txt 'with space.png'
}

# complete WORD... : completes the last word, as bash does after the user
# typed all the words; prints the candidates sorted, one per line.
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _snn_itr
    printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | LC_ALL=C sort
}

# The long options that a program's --help lists, sorted: those that start an
# indented line, so that options of other programs named in the text are left out.
help_options() {
    "$ROOT/bin/$1" --help | grep -oE -- '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' |
        grep -o -- '--[a-z][a-z-]*' | LC_ALL=C sort -u
}

@test "bash completion is registered for every program" {
    for program in $PROGRAMS; do
        run complete -p "$program"
        [ "$status" -eq 0 ]
        [ "$output" = "complete -F _snn_itr $program" ]
    done
}

@test "bash completes the long options of each program's --help" {
    for program in $PROGRAMS; do
        expected="$(help_options "$program")"
        [ -n "$expected" ]
        actual="$(complete_words "$program" --)"
        if [ "$actual" != "$expected" ]; then
            echo "$program: completion differs from --help:"
            diff <(echo "$expected") <(echo "$actual") || true
            return 1
        fi
    done
}

@test "bash completes an option prefix" {
    [ "$(complete_words snn-train --lr)" = "$(printf '%s\n' --lr --lr-gamma --lr-step)" ]
    [ "$(complete_words snn-rank --sim)" = "--similarity" ]
    [ "$(complete_words snn-encode-txt --nothing)" = "" ]
}

@test "bash completes file names for file options" {
    run complete_words snn-train --vocab ''
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '%s\n' B.PNG a.png data.json images model.st notes.txt \
        other.json vocab.txt 'with space.png')" ]
    [ "$(complete_words snn-train --resume mo)" = "model.st" ]
    [ "$(complete_words snn-encode-img -m mo)" = "model.st" ]
    [ "$(complete_words snn-rank -o no)" = "notes.txt" ]
    [ "$(complete_words snn-encode-img --list n)" = "notes.txt" ]
}

@test "bash completes only JSON files and directories for --dataset" {
    [ "$(complete_words snn-train --dataset '')" = "$(printf '%s\n' data.json images other.json)" ]
    [ "$(complete_words snn-encode-img --dataset d)" = "data.json" ]
}

@test "bash completes directories for --image-root" {
    [ "$(complete_words snn-train --image-root '')" = "images" ]
    [ "$(complete_words snn-encode-img --image-root images/)" = "images/sub" ]
}

@test "bash completes PNG operands of snn-encode-img" {
    [ "$(complete_words snn-encode-img -m model.st '')" = \
        "$(printf '%s\n' B.PNG a.png images 'with space.png')" ]
    [ "$(complete_words snn-encode-img wi)" = "with space.png" ]
}

@test "bash completes any file as operand of the stream readers" {
    [ "$(complete_words snn-rank no)" = "notes.txt" ]
    [ "$(complete_words snn-encode-txt -m model.st no)" = "notes.txt" ]
    [ "$(complete_words snn-tokenize --vocab vocab.txt no)" = "notes.txt" ]
}

@test "bash completes fixed values" {
    [ "$(complete_words snn-rank --similarity '')" = "$(printf '%s\n' fine global)" ]
    [ "$(complete_words snn-fuse --side '')" = "$(printf '%s\n' both caption image)" ]
    [ "$(complete_words snn-train --val-split n)" = "none" ]
    [ "$(complete_words snn-encode-img --split t)" = "$(printf '%s\n' test train)" ]
}

@test "bash offers nothing for numbers or snn-train operands" {
    [ "$(complete_words snn-train --epochs '')" = "" ]
    [ "$(complete_words snn-encode-img --shard '')" = "" ]
    [ "$(complete_words snn-rank --k '')" = "" ]
    [ "$(complete_words snn-train --quiet '')" = "" ]
}

@test "bash completes the value of --option=value" {
    # Bash splits at "=": "--vocab=" arrives as "--vocab" "=".
    [ "$(complete_words snn-train --dataset =)" = "$(printf '%s\n' data.json images other.json)" ]
    [ "$(complete_words snn-train --dataset = o)" = "other.json" ]
    [ "$(complete_words snn-rank --similarity = g)" = "global" ]
}

@test "bash completion does not stop at an option that takes no value" {
    [ "$(complete_words snn-rank --json no)" = "notes.txt" ]
    [ "$(complete_words snn-tokenize --text no)" = "notes.txt" ]
}

# Writes a zsh script that prints the matches zsh offers for the end of the
# line $2, with the completion functions of directory $1 in fpath. The
# wrapped compadd prints every match it adds; a hook after the completion
# prints a marker, so the reader waits for that instead of for a time.
write_zsh_driver() {
    cat > complete.zsh <<'EOF'
zmodload zsh/zpty
zpty -b comp zsh -f -i
zpty -w comp "PS1='zle> ' RPROMPT=''; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w comp 'compadd() {
  if (( $@[(I)-[OAD]] )); then builtin compadd "$@"; return; fi
  local -a added; builtin compadd -O added "$@"; print -rl -- ${^added/#/MATCH:}
  builtin compadd "$@"
}'
zpty -w comp 'mark_done() { print -r -- COMPLETION-DONE; }
complete_and_mark() { comppostfuncs=(mark_done); zle complete-word; }
zle -N complete_and_mark; bindkey "^I" complete_and_mark'
# The quotes keep the echo of the command from matching the marker. The line
# is typed once the prompt after the marker shows that the line editor runs.
zpty -w comp "print SETUP-DON''E"
zpty -r -m comp ignored '*SETUP-DONE*'
zpty -r -m comp ignored '*zle> *'
zpty -n -w comp "$2"$'\t'
zpty -r -m comp out '*COMPLETION-DONE*'
zpty -d comp
for line in ${(f)out}; do
  [[ $line == *MATCH:* ]] && print -r -- ${${line##*MATCH:}%%$'\r'}
done
EOF
}

# zsh_complete LINE: prints the zsh matches for LINE sorted and unique.
zsh_complete() {
    timeout 60 zsh -f complete.zsh "$ROOT/completions" "$1" | LC_ALL=C sort -u
}

need_zsh() {
    command -v zsh >/dev/null 2>&1 || { echo "zsh not found: 'make deps' installs it" >&2; return 1; }
}

@test "zsh completion file parses" {
    need_zsh
    run zsh -n "$ROOT/completions/_snn-itr"
    [ "$status" -eq 0 ]
    [ "$output" = "" ]
    [ "$(head -n 1 "$ROOT/completions/_snn-itr")" = "#compdef $PROGRAMS" ]
}

@test "zsh completes options, values and files" {
    need_zsh
    write_zsh_driver
    [ "$(zsh_complete 'snn-rank --sim')" = "--similarity" ]
    [ "$(zsh_complete 'snn-rank --similarity ')" = "$(printf '%s\n' fine global)" ]
    [ "$(zsh_complete 'snn-train --ep')" = "--epochs" ]
    [ "$(zsh_complete 'snn-train --val-split n')" = "none" ]
    [ "$(zsh_complete 'snn-encode-img -m mo')" = "model.st" ]
    [ "$(zsh_complete 'snn-encode-img -m model.st a')" = "a.png" ]
    [ "$(zsh_complete 'snn-train --dataset=o')" = "other.json" ]
}

@test "zsh completes the long options of each program's --help" {
    need_zsh
    write_zsh_driver
    for program in $PROGRAMS; do
        expected="$(help_options "$program")"
        actual="$(zsh_complete "$program --" | grep -- '^--')"
        if [ "$actual" != "$expected" ]; then
            echo "$program: zsh completion differs from --help:"
            diff <(echo "$expected") <(echo "$actual") || true
            return 1
        fi
    done
}
