# Bash completion for the snn-itr programs: snn-tokenize, snn-encode-img,
# snn-encode-txt, snn-train, snn-rank and snn-fuse.
#
# Source this file from ~/.bashrc, or copy it to /etc/bash_completion.d/snn-itr.
# It needs no other completion library. Long options come from static lists that
# match each program's --help. Arguments of file options complete to file names,
# and arguments with a fixed set of values (--similarity, --split) to those values.

# Prints the long options of program $1, one per line.
_snn_itr_options()
{
    local common=(--output --quiet --verbose --help --version)
    case $1 in
    snn-tokenize)
        printf '%s\n' --vocab --dataset --split --max-length --text --build-vocab \
            --vocab-size --min-count "${common[@]}"
        ;;
    snn-encode-img)
        printf '%s\n' --model --features --list --dataset --split --image-root --batch --shard \
            --threads "${common[@]}"
        ;;
    snn-encode-txt)
        printf '%s\n' --model --features --batch --threads "${common[@]}"
        ;;
    snn-train)
        printf '%s\n' --dataset --image-root --vocab --split --val-split --test-split --checkpoint \
            --resume --log --select --shift --epochs --batch --lr --lr-step --lr-gamma --weight-decay \
            --clip --float-weight --fusion-weight --temperature --margin --sim-temperature --dim \
            --heads --ffn-hidden --depth --time-steps --image-size --grid \
            --stem-channels --max-length --tau --vth --learn-vth --coder-vth --alpha --ann \
            --seed --threads "${common[@]}"
        ;;
    snn-rank)
        printf '%s\n' --json --topk --k --rerank --rerank-depth --similarity --temperature \
            --allow-unmatched --threads "${common[@]}"
        ;;
    snn-fuse)
        printf '%s\n' --model --pairs --score --side --batch --threads "${common[@]}"
        ;;
    esac
}

# Prints how the argument of option $1 completes: "file", "json"
# (dataset files), "dir", "words:W1 W2 ..." for a fixed set, "value" for a number
# or a free string, or "none" when the option takes no argument.
_snn_itr_argument()
{
    case $1 in
    -o | --output | --vocab | --list | --checkpoint | --resume | --log | --topk | --rerank | \
        --pairs)
        echo file ;;
    -m | --model)
        echo file ;;
    --dataset)
        echo json ;;
    --image-root)
        echo dir ;;
    --split)
        echo 'words:train val test restval' ;;
    --val-split)
        echo 'words:val test none' ;;
    --test-split)
        echo 'words:test val' ;;
    --side)
        echo 'words:image caption both' ;;
    --similarity)
        echo 'words:fine global' ;;
    --select)
        echo 'words:best last' ;;
    --max-length | --vocab-size | --min-count | --batch | --shard | --threads | \
        --epochs | --lr | --lr-step | --lr-gamma | --weight-decay | --clip | \
        --float-weight | --fusion-weight | --temperature | --margin | --sim-temperature | --dim | \
        --heads | --ffn-hidden | --depth | --time-steps | --image-size | --grid | \
        --stem-channels | --tau | --vth | --learn-vth | --coder-vth | --alpha | \
        --seed | --k | --rerank-depth | --shift)
        echo value ;;
    *)
        echo none ;;
    esac
}

# Sets COMPREPLY to the names under the prefix $1 that match the glob $2,
# plus directories so that the user can descend into them.
_snn_itr_files()
{
    if [[ -n $2 ]]; then
        mapfile -t COMPREPLY < <(compgen -d -- "$1"; compgen -f -X "!$2" -- "$1")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$1")
    fi
    # compopt works only while bash runs a completion; a direct call skips it.
    compopt -o filenames 2>/dev/null
    return 0
}

# Completes the argument of one option; $1 program, $2 option, $3 current word.
_snn_itr_complete_argument()
{
    local kind
    kind=$(_snn_itr_argument "$2")
    case $kind in
    file) _snn_itr_files "$3" '' ;;
    json) _snn_itr_files "$3" '*.json' ;;
    dir)
        mapfile -t COMPREPLY < <(compgen -d -- "$3")
        compopt -o filenames 2>/dev/null
        ;;
    words:*)
        mapfile -t COMPREPLY < <(compgen -W "${kind#words:}" -- "$3") ;;
    *) COMPREPLY=() ;;
    esac
}

# Completes an operand (a word that is not an option or its argument).
_snn_itr_complete_operand()
{
    case $1 in
    snn-encode-img) _snn_itr_files "$2" '*.[pP][nN][gG]' ;;
    snn-tokenize | snn-encode-txt | snn-rank | snn-fuse) _snn_itr_files "$2" '' ;;
    *) COMPREPLY=() ;; # snn-train takes no operands.
    esac
}

_snn_itr()
{
    local program=${COMP_WORDS[0]##*/}
    local cur=${COMP_WORDS[COMP_CWORD]} prev=''
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

    # Bash splits "--opt=value" at "=" (it is in COMP_WORDBREAKS by default), so "--vocab=vo" arrives as the words
    # "--vocab" "=" "vo", and "--vocab=" as "--vocab" "=".
    if [[ $cur == = ]]; then
        cur=''
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi

    if [[ $prev == -* && $(_snn_itr_argument "$prev") != none ]]; then
        _snn_itr_complete_argument "$program" "$prev" "$cur"
    elif [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_snn_itr_options "$program")" -- "$cur")
    else
        _snn_itr_complete_operand "$program" "$cur"
    fi
    return 0
}

complete -F _snn_itr snn-tokenize snn-encode-img snn-encode-txt snn-train snn-rank snn-fuse
