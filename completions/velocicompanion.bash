# bash completion for VelociCompanion (generated from the operation table)
_vc_complete() {
	local cur=${COMP_WORDS[COMP_CWORD]} verbs= opts=
	local w1=${COMP_WORDS[1]} w2=${COMP_WORDS[2]}
	case ${COMP_WORDS[0]##*/} in
	vc-auth)
		verbs="init tenant tenant tenant user user user user user user register login whoami refresh logout passwd 2fa 2fa 2fa token token token key key key key store mail mail mail mail password-reset password-reset verify-email audit audit audit audit "
		case "$w1 $w2" in
		"init"*) opts="--tenant --admin --email --password-stdin" ;;
		"tenant create"*) opts="--allow-registration " ;;
		"tenant list"*) opts="" ;;
		"tenant update"*) opts="--registration --require-verified-email --require-2fa " ;;
		"user create"*) opts="--role --email --tenant --password-stdin" ;;
		"user list"*) opts="--tenant --role " ;;
		"user show"*) opts="" ;;
		"user update"*) opts="--role --email --reset-2fa --password-stdin" ;;
		"user disable"*) opts="" ;;
		"user enable"*) opts="" ;;
		"register"*) opts="--tenant --email --password-stdin" ;;
		"login"*) opts="--password-stdin --totp-stdin" ;;
		"whoami"*) opts="" ;;
		"refresh"*) opts="" ;;
		"logout"*) opts="" ;;
		"passwd"*) opts="--password-stdin" ;;
		"2fa setup"*) opts="--qr " ;;
		"2fa verify"*) opts="" ;;
		"2fa disable"*) opts="--password-stdin" ;;
		"token create"*) opts="--role --expires " ;;
		"token list"*) opts="" ;;
		"token revoke"*) opts="" ;;
		"key rotate"*) opts="" ;;
		"key list"*) opts="" ;;
		"key rekey"*) opts="" ;;
		"key retire"*) opts="" ;;
		"store copy"*) opts="--from --to " ;;
		"mail set"*) opts="--url --from --user --insecure-plaintext --ca-file --link-base --password-stdin" ;;
		"mail show"*) opts="" ;;
		"mail test"*) opts="" ;;
		"mail flush"*) opts="--all " ;;
		"password-reset request"*) opts="" ;;
		"password-reset confirm"*) opts="--password-stdin" ;;
		"verify-email"*) opts="" ;;
		"audit list"*) opts="--action --resource-type --user --outcome --since --until --limit --order --tenant-id --after --all " ;;
		"audit verify"*) opts="--tenant-id --anchors " ;;
		"audit anchor"*) opts="--file " ;;
		"audit show"*) opts="" ;;
		esac
		if [ "$COMP_CWORD" -eq 2 ]; then
			verbs="$( [ "$w1" = tenant ] && echo create) $( [ "$w1" = tenant ] && echo list) $( [ "$w1" = tenant ] && echo update) $( [ "$w1" = user ] && echo create) $( [ "$w1" = user ] && echo list) $( [ "$w1" = user ] && echo show) $( [ "$w1" = user ] && echo update) $( [ "$w1" = user ] && echo disable) $( [ "$w1" = user ] && echo enable) $( [ "$w1" = 2fa ] && echo setup) $( [ "$w1" = 2fa ] && echo verify) $( [ "$w1" = 2fa ] && echo disable) $( [ "$w1" = token ] && echo create) $( [ "$w1" = token ] && echo list) $( [ "$w1" = token ] && echo revoke) $( [ "$w1" = key ] && echo rotate) $( [ "$w1" = key ] && echo list) $( [ "$w1" = key ] && echo rekey) $( [ "$w1" = key ] && echo retire) $( [ "$w1" = store ] && echo copy) $( [ "$w1" = mail ] && echo set) $( [ "$w1" = mail ] && echo show) $( [ "$w1" = mail ] && echo test) $( [ "$w1" = mail ] && echo flush) $( [ "$w1" = password-reset ] && echo request) $( [ "$w1" = password-reset ] && echo confirm) $( [ "$w1" = audit ] && echo list) $( [ "$w1" = audit ] && echo verify) $( [ "$w1" = audit ] && echo anchor) $( [ "$w1" = audit ] && echo show) "
		fi ;;
	vc-hosts)
		verbs="import list show update delete "
		case "$w1 $w2" in
		"import"*) opts="--source --strict --progress " ;;
		"list"*) opts="--hostname --fqdn --ip --os --label --client-id --seen-since --quarantined --sort --order --limit --offset --after --exact-total --all --count " ;;
		"show"*) opts="" ;;
		"update"*) opts="--label --note " ;;
		"delete"*) opts="" ;;
		esac
		if [ "$COMP_CWORD" -eq 2 ]; then
			verbs=""
		fi ;;
	vc-case)
		verbs="create list show update close delete note notes link unlink artifact evtx artifact artifact artifact artifact "
		case "$w1 $w2" in
		"create"*) opts="--description --severity --assignee --tag " ;;
		"list"*) opts="--status --severity --assignee --tag --text --sort --order --limit --offset --after --exact-total --all " ;;
		"show"*) opts="" ;;
		"update"*) opts="--title --description --status --severity --assignee --tag " ;;
		"close"*) opts="--resolution " ;;
		"delete"*) opts="" ;;
		"note"*) opts="" ;;
		"notes"*) opts="" ;;
		"link"*) opts="--host --artifact " ;;
		"unlink"*) opts="--host --artifact " ;;
		"artifact import"*) opts="--name --host --case --flow --hunt --strict --progress " ;;
		"evtx"*) opts="" ;;
		"artifact list"*) opts="--name --host --case --hunt --flow --sort --order --limit --offset --after --exact-total --all " ;;
		"artifact show"*) opts="" ;;
		"artifact rows"*) opts="--where --host --limit --offset " ;;
		"artifact delete"*) opts="" ;;
		esac
		if [ "$COMP_CWORD" -eq 2 ]; then
			verbs="$( [ "$w1" = artifact ] && echo import) $( [ "$w1" = artifact ] && echo list) $( [ "$w1" = artifact ] && echo show) $( [ "$w1" = artifact ] && echo rows) $( [ "$w1" = artifact ] && echo delete) "
		fi ;;
	vc-hunt)
		verbs="config config config config clients client collect allowlist allowlist allowlist allowlist allowlist flow flow create list show stop results query "
		case "$w1 $w2" in
		"config set"*) opts="--api-config --org " ;;
		"config show"*) opts="" ;;
		"config test"*) opts="" ;;
		"config delete"*) opts="" ;;
		"clients"*) opts="--search --label --sync " ;;
		"client"*) opts="" ;;
		"collect"*) opts="--client --artifact --param --timeout --wait --store --case " ;;
		"allowlist show"*) opts="" ;;
		"allowlist set"*) opts="--artifact " ;;
		"allowlist add"*) opts="" ;;
		"allowlist remove"*) opts="" ;;
		"allowlist reset"*) opts="" ;;
		"flow"*) opts="" ;;
		"flow results"*) opts="--artifact --store --case " ;;
		"create"*) opts="--artifact --param --description --expires --label --os --idempotency-key --wait --timeout " ;;
		"list"*) opts="" ;;
		"show"*) opts="" ;;
		"stop"*) opts="" ;;
		"results"*) opts="--artifact --store --case " ;;
		"query"*) opts="--env --timeout " ;;
		esac
		if [ "$COMP_CWORD" -eq 2 ]; then
			verbs="$( [ "$w1" = config ] && echo set) $( [ "$w1" = config ] && echo show) $( [ "$w1" = config ] && echo test) $( [ "$w1" = config ] && echo delete) $( [ "$w1" = allowlist ] && echo show) $( [ "$w1" = allowlist ] && echo set) $( [ "$w1" = allowlist ] && echo add) $( [ "$w1" = allowlist ] && echo remove) $( [ "$w1" = allowlist ] && echo reset) $( [ "$w1" = flow ] && echo results) "
		fi ;;
	vc-score)
		verbs="stack top analyze analyze analyze scores heuristics rules rules ioc ioc ioc "
		case "$w1 $w2" in
		"stack"*) opts="--by --max-hosts --stored --artifact " ;;
		"top"*) opts="--by --limit " ;;
		"analyze host"*) opts="--rules --map " ;;
		"analyze artifact"*) opts="--rules --map " ;;
		"analyze hunt"*) opts="--rules --map --common --rare --limit " ;;
		"scores"*) opts="--subject --classification --min-score --since --limit " ;;
		"heuristics"*) opts="" ;;
		"rules list"*) opts="--rules --map " ;;
		"rules check"*) opts="--map " ;;
		"ioc import"*) opts="--severity --source " ;;
		"ioc list"*) opts="--type " ;;
		"ioc delete"*) opts="" ;;
		esac
		if [ "$COMP_CWORD" -eq 2 ]; then
			verbs="$( [ "$w1" = analyze ] && echo host) $( [ "$w1" = analyze ] && echo artifact) $( [ "$w1" = analyze ] && echo hunt) $( [ "$w1" = rules ] && echo list) $( [ "$w1" = rules ] && echo check) $( [ "$w1" = ioc ] && echo import) $( [ "$w1" = ioc ] && echo list) $( [ "$w1" = ioc ] && echo delete) "
		fi ;;
	vc-report)
		verbs="generate verify template template template template request list show download retention "
		case "$w1 $w2" in
		"generate"*) opts="--case --host --since --until --format --out --table --marking --timeout " ;;
		"verify"*) opts="" ;;
		"template add"*) opts="" ;;
		"template list"*) opts="" ;;
		"template show"*) opts="" ;;
		"template delete"*) opts="" ;;
		"request"*) opts="--template --case --host --since --until --format --table --marking " ;;
		"list"*) opts="--limit " ;;
		"show"*) opts="" ;;
		"download"*) opts="--out " ;;
		"retention"*) opts="--days " ;;
		esac
		if [ "$COMP_CWORD" -eq 2 ]; then
			verbs="$( [ "$w1" = template ] && echo add) $( [ "$w1" = template ] && echo list) $( [ "$w1" = template ] && echo show) $( [ "$w1" = template ] && echo delete) "
		fi ;;
	vc-notify)
		verbs="events events events events send list rule rule rule channel channel channel channel forward dead dead read "
		case "$w1 $w2" in
		"events"*) opts="--since --type --limit --follow " ;;
		"events prune"*) opts="--older-than " ;;
		"events retention"*) opts="" ;;
		"events keep"*) opts="" ;;
		"send"*) opts="--to --title --body --attach " ;;
		"list"*) opts="--unread --since --limit " ;;
		"rule add"*) opts="--on --when --to " ;;
		"rule list"*) opts="" ;;
		"rule delete"*) opts="" ;;
		"channel add"*) opts="--kind --target --type --since --batch --max-failures --index --format --source --when --ca-file --password-stdin" ;;
		"channel list"*) opts="" ;;
		"channel test"*) opts="" ;;
		"channel delete"*) opts="" ;;
		"forward"*) opts="--channel --once --follow " ;;
		"dead list"*) opts="--channel --limit " ;;
		"dead retry"*) opts="--all --channel " ;;
		"read"*) opts="--all " ;;
		esac
		if [ "$COMP_CWORD" -eq 2 ]; then
			verbs="$( [ "$w1" = events ] && echo prune) $( [ "$w1" = events ] && echo retention) $( [ "$w1" = events ] && echo keep) $( [ "$w1" = rule ] && echo add) $( [ "$w1" = rule ] && echo list) $( [ "$w1" = rule ] && echo delete) $( [ "$w1" = channel ] && echo add) $( [ "$w1" = channel ] && echo list) $( [ "$w1" = channel ] && echo test) $( [ "$w1" = channel ] && echo delete) $( [ "$w1" = dead ] && echo list) $( [ "$w1" = dead ] && echo retry) "
		fi ;;
	vc-playbook)
		verbs="check add list show update enable disable delete plan run executions approve cancel due settings settings blocklist blocklist blocklist blocklist "
		case "$w1 $w2" in
		"check"*) opts="" ;;
		"add"*) opts="" ;;
		"list"*) opts="--trigger " ;;
		"show"*) opts="--at-version --versions " ;;
		"update"*) opts="" ;;
		"enable"*) opts="" ;;
		"disable"*) opts="" ;;
		"delete"*) opts="" ;;
		"plan"*) opts="--event --event-file --at-version " ;;
		"run"*) opts="--event --event-file --at-version --approve " ;;
		"executions"*) opts="--status --limit " ;;
		"approve"*) opts="" ;;
		"cancel"*) opts="" ;;
		"due"*) opts="--run " ;;
		"settings show"*) opts="" ;;
		"settings set"*) opts="--quarantine-windows --quarantine-linux --quarantine-macos " ;;
		"blocklist list"*) opts="--all " ;;
		"blocklist add"*) opts="--reason --expires " ;;
		"blocklist remove"*) opts="" ;;
		"blocklist export"*) opts="--format " ;;
		esac
		if [ "$COMP_CWORD" -eq 2 ]; then
			verbs="$( [ "$w1" = settings ] && echo show) $( [ "$w1" = settings ] && echo set) $( [ "$w1" = blocklist ] && echo list) $( [ "$w1" = blocklist ] && echo add) $( [ "$w1" = blocklist ] && echo remove) $( [ "$w1" = blocklist ] && echo export) "
		fi ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --db --json-errors -o -h" -- "$cur"))
	elif [ "$COMP_CWORD" -le 2 ]; then
		COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
	fi
}
complete -F _vc_complete vc-auth
complete -F _vc_complete vc-hosts
complete -F _vc_complete vc-case
complete -F _vc_complete vc-hunt
complete -F _vc_complete vc-score
complete -F _vc_complete vc-report
complete -F _vc_complete vc-notify
complete -F _vc_complete vc-playbook
