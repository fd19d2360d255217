# SPDX-License-Identifier: GPL-2.0-only
# bash completion for ivshm(1)

_ivshm_targets()
{
	local cur=$1 f
	case $cur in
	unix:*)
		COMPREPLY=($(compgen -f -P unix: -- "${cur#unix:}"))
		;;
	shm:*)
		if [[ ${cur#shm:} == "" ]]; then
			COMPREPLY=($(compgen -f -P shm: -- /dev/shm/))
		else
			COMPREPLY=($(compgen -f -P shm: -- "${cur#shm:}"))
		fi
		;;
	*)
		COMPREPLY=($(compgen -W "unix: shm:" -- "$cur"))
		for f in /dev/ivshm[0-9]* /dev/ivshm/by-*/*; do
			[[ -e $f && $f == "$cur"* ]] && COMPREPLY+=("$f")
		done
		;;
	esac
	# do not add a space after a prefix or a directory
	if [[ ${#COMPREPLY[@]} -eq 1 && ( ${COMPREPLY[0]} == *: ||
	      -d ${COMPREPLY[0]#*:} ) ]]; then
		[[ -d ${COMPREPLY[0]#*:} ]] && COMPREPLY[0]+=/
		compopt -o nospace 2>/dev/null
	fi
}

# The channel names of a target's ring region.
_ivshm_channels()
{
	local target=$1 cur=$2
	COMPREPLY=($(compgen -W "$(ivshm channels "$target" 2>/dev/null |
		awk '$3 == "ready" { print $2 }')" -- "$cur"))
}

_ivshm()
{
	local cur prev words cword prefix i
	# Our own word split of the line up to the cursor, so that "unix:PATH"
	# and "shm:PATH" stay one word whatever COMP_WORDBREAKS says.
	local line=${COMP_LINE:0:COMP_POINT}
	read -ra words <<<"$line"
	[[ -z $line || $line == *[[:space:]] ]] && words+=("")
	cword=$((${#words[@]} - 1))
	cur=${words[cword]}
	prev=${words[cword - 1]}
	COMPREPLY=()
	_ivshm_complete
	# readline replaces only the part of the word after the last colon
	if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
		prefix=${cur%"${cur##*:}"}
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}
		done
	fi
}

_ivshm_complete()
{
	local commands="list info ring wait peers dump channels send recv monitor top help"
	local i cmd="" cmd_i=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--vectors) ((i++)) ;;
		-*) ;;
		*) cmd=${words[i]}; cmd_i=$i; break ;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		--vectors) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json --vectors --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	# positional arguments after the command, options skipped
	local args=() skip=0
	for ((i = cmd_i + 1; i < cword; i++)); do
		if ((skip)); then skip=0; continue; fi
		case ${words[i]} in
		--timeout|-t|--ring-size|-s|--bytes|-b|--count|-n|--peer|-p|--tx-vector|--rx-vector|--interval|-i|--iterations)
			skip=1 ;;
		-*) ;;
		*) args+=("${words[i]}") ;;
		esac
	done

	case $prev in
	--timeout|-t|--ring-size|-s|--bytes|-b|--count|-n|--peer|-p|--tx-vector|--rx-vector|--interval|-i|--iterations)
		return ;;
	esac

	local opts="--json --help"
	case $cmd in
	wait) opts+=" --timeout" ;;
	dump) opts+=" --no-squeeze -v" ;;
	send) opts+=" --create --format --ring-size --bytes --timeout --peer --tx-vector --rx-vector --takeover" ;;
	recv) opts+=" --create --format --ring-size --raw --count --timeout --peer --tx-vector --rx-vector --takeover" ;;
	monitor) opts+=" --count --interval" ;;
	top) opts+=" --interval --iterations --once" ;;
	help)
		((${#args[@]} == 0)) &&
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi

	case $cmd in
	list) ;;
	info|peers|channels|ring|wait|dump|monitor|top)
		((${#args[@]} == 0)) && _ivshm_targets "$cur" ;;
	send|recv)
		if ((${#args[@]} == 0)); then
			_ivshm_targets "$cur"
		elif ((${#args[@]} == 1)); then
			_ivshm_channels "${args[0]}" "$cur"
		fi ;;
	esac
}

complete -F _ivshm ivshm
