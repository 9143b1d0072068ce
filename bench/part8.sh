# bench/part8.sh: part 8 of bench/run.sh (sourced by it; uses its helpers
# q, row, calc, median, met, list2, now_ms, die and its variables).
#
# End to end: PART8_ROWS rows x 10 columns (9 sent, "Id" kept as the source
# key) loaded into a local Zoho API server of its own whose every lifecycle
# call (org, upload, create, poll of a created job, result download) takes
# a fixed extra delay ("call_delay_ms"), and whose jobs are COMPLETED on
# their first poll ("polls_in_progress": 0: the server's latency per part is
# then one delay per call plus its own work, not something the client's poll
# interval decides).  In each round, side by side:
#
#   a. the CSV+zip time of the same query: zcrm_write_plan();
#   a2. (information) prepare as zcrm_write does it, which also stores the
#      parts and each row's source key and echoed values;
#   b. the server's per-part latency, measured directly (bench/part8.py
#      latency: upload + create + poll until done + result download of one
#      part's zip, one keep-alive connection, from python); b2, for
#      information, the same for every part at once (a thread each);
#   c. SELECT count(*) FROM zcrm_write(..., token => ...): interactive, it
#      waits and collects;
#   d. CALL zcrm_write_submit(..., connection => ...) and then the poller,
#      CALL zcrm_poll_tracked_jobs(min_interval => '0') every 0.1 s in the
#      same session, until the run is completed;
#   d2. the same through a server whose option org_id is set: no org call.
#
# a, c and d are timed from the client, each in a new psql session.  The
# floor is a + ceil(parts / max_concurrency) x b (zcrm_bulk.max_concurrency
# as the cluster has it); c and d are compared with it (target: at most 1.3
# times).  Rounds are interleaved; medians.  Each round starts with the
# server reset (its stored jobs and records: memory; it then numbers jobs
# from 71...01 again, so the runs' parts and jobs are emptied too; the access token
# of the connection, revoked by the reset, is refreshed once by d: 1 token
# call) and gives each run e-mail addresses of its own (no DUPLICATE_DATA
# across runs).  Where the
# time of c and d went is read from the server's request log
# (bench/part8.py timeline).  Nothing here asserts a time.

part8() {
	local rounds=${BENCH_PART8_ROUNDS:-3} nrows=${BENCH_PART8_ROWS:-100000}
	local delay=${BENCH_PART8_DELAY_MS:-100}
	local port=$((ZCRM_MOCK_PORT + 2)) db=bench_life
	local log=$WORK/life-requests.jsonl
	local round t0 t1 n mc parts floor_parts tag line k
	local -a at pt bt b2 bb ct dt ot rc rd ro fl
	local -A lat tlc tld tlo

	zcrm_start_mock "$WORK" life "$port"
	q postgres "CREATE DATABASE $db TEMPLATE bench_tpl" >/dev/null
	q postgres "LOAD 'zcrm_bulk'; ALTER DATABASE $db SET zcrm_bulk.api_domain = 'http://127.0.0.1:$port'" >/dev/null
	q $db "CREATE SERVER bench8 FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'http://127.0.0.1:$port', api_domain 'http://127.0.0.1:$port')" >/dev/null
	q $db "CREATE USER MAPPING FOR PUBLIC SERVER bench8 OPTIONS (client_id '1000.BENCH8', client_secret 'bench8secret', refresh_token '1000.rt.bench8')" >/dev/null
	q $db "CREATE SERVER bench8o FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'http://127.0.0.1:$port', api_domain 'http://127.0.0.1:$port', org_id '808232144')" >/dev/null
	q $db "CREATE USER MAPPING FOR PUBLIC SERVER bench8o OPTIONS (client_id '1000.BENCH8O', client_secret 'bench8secret', refresh_token '1000.rt.bench8o')" >/dev/null
	mc=$(q $db "LOAD 'zcrm_bulk'; SELECT current_setting('zcrm_bulk.max_concurrency')")

	# part8_query TAG: the query, its e-mail addresses made unique by TAG
	part8_query() {
		echo "SELECT g AS \"Id\", 'Name ' || g AS \"Last_Name\", 'user' || g || '.$1@example.com' AS \"Email\", g * 1.25 AS \"Amount\", (g % 2 = 0) AS \"Active\", DATE '2024-01-01' + (g % 365) AS \"Day\", TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 second' AS \"Seen\", g::float8 / 7 AS \"Ratio\", ARRAY['a', 'b'] AS \"Tags\", md5(g::text) AS \"Hash\" FROM (SELECT generate_series(1, $nrows) AS g) s"
	}

	parts=$(q $db "SELECT count(*) FROM zcrm_write_plan('Leads', \$q\$$(part8_query a0)\$q\$, key_column => 'Id')")
	floor_parts=$(((parts + mc - 1) / mc))

	# one round; $1: "warm-up" (not counted) or the round's number
	part8_round() {
		local r=$1 out=$WORK/part8-$1
		zcrm_log "part 8, round $r: plan, per-part latency, zcrm_write, zcrm_write_submit + poller"
		# the server starts again from job id 71...01: forget the earlier
		# runs' parts and jobs; their zcrm_write_run rows are kept, as a
		# nightly load keeps them (a run through a connection records its
		# org id there, and the next run through it makes no org call)
		q $db "TRUNCATE zcrm_write_result, zcrm_write_source_part, zcrm_write_run_job, zcrm_tracked_job, zcrm_job_history" >/dev/null
		"$ZCRM_PY" "$BENCH_ROOT/part8.py" configure "$port" \
			"{\"reset\": true, \"call_delay_ms\": $delay, \"polls_in_progress\": 0}" >"$out.config" ||
			die "part 8: configuring the server"

		# a. CSV+zip
		t0=$(now_ms)
		n=$(q $db "SELECT sum(rows) FROM zcrm_write_plan('Leads', \$q\$$(part8_query "a$r")\$q\$, key_column => 'Id')")
		t1=$(now_ms)
		[ "$n" = "$nrows" ] || die "part 8: zcrm_write_plan returned $n rows, not $nrows"
		A_MS=$((t1 - t0))

		# a2. prepare as zcrm_write does it: CSV+zip and storing the parts
		# and each row's source key and echoed values (no request)
		t0=$(now_ms)
		n=$(q $db "SELECT zcrm_write_step_prepare(zcrm_write_new_run('Leads', \$q\$$(part8_query "p$r")\$q\$, 'insert', NULL, 'Id', NULL, true, false), \$q\$$(part8_query "p$r")\$q\$, NULL)")
		t1=$(now_ms)
		[ "$n" = "$nrows" ] || die "part 8: zcrm_write_step_prepare returned $n rows, not $nrows"
		P_MS=$((t1 - t0))

		# b. the server's per-part latency (part 1's CSV, zipped by python)
		q $db "SELECT zcrm_write_csv('Leads', \$q\$$(part8_query "b$r")\$q\$, key_column => 'Id', part => 1)" >"$out.csv"
		B_LINE=$("$ZCRM_PY" "$BENCH_ROOT/part8.py" latency "$port" "$out.csv") || die "part 8: per-part latency"
		# b2. the same for every part at once (the same CSV: later threads
		# meet DUPLICATE_DATA, a little less work for the server)
		B2_LINE=$("$ZCRM_PY" "$BENCH_ROOT/part8.py" latency "$port" "$out.csv" "$parts") ||
			die "part 8: per-part latency, $parts at once"
		rm -f "$out.csv"

		# c. zcrm_write with a token
		printf '%s\n' "SELECT count(*) FROM zcrm_write('Leads', \$q\$$(part8_query "c$r")\$q\$, key_column => 'Id', token => :'token');" \
			>"$out-c.sql"
		t0=$(now_ms)
		n=$("$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -v token="$TOKEN" -d $db -f "$out-c.sql" 2>"$out-c.err") ||
			{ cat "$out-c.err" >&2; die "part 8: zcrm_write"; }
		t1=$(now_ms)
		[ "$n" = "$nrows" ] || die "part 8: zcrm_write returned $n rows, not $nrows"
		C_MS=$((t1 - t0))
		C_TL=$("$ZCRM_PY" "$BENCH_ROOT/part8.py" timeline "$log" "$t0" "$t1")

		# d. zcrm_write_submit, then the poller until the run is completed
		part8_submit bench8 "d$r" "$out-d"
		D_MS=$SUB_MS D_TL=$SUB_TL
		# d2. the same through the server with org_id
		part8_submit bench8o "o$r" "$out-o"
		O_MS=$SUB_MS O_TL=$SUB_TL
	}

	# part8_submit SERVER TAG OUT: d through SERVER; sets SUB_MS and SUB_TL
	part8_submit() {
		local t0 t1 n
		printf '%s\n' "CALL zcrm_write_submit('Leads', \$q\$$(part8_query "$2")\$q\$, key_column => 'Id', connection => '$1') \\gset" \
			"SELECT set_config('bench.run_id', :'run_id', false) \\g /dev/null" \
			"DO \$\$DECLARE p int; c int; f int; BEGIN FOR i IN 1..3000 LOOP CALL zcrm_poll_tracked_jobs('0', p, c, f); IF (SELECT state FROM public.zcrm_write_run WHERE run_id = current_setting('bench.run_id')::bigint) = 'completed' THEN RETURN; END IF; PERFORM pg_sleep(0.1); END LOOP; RAISE EXCEPTION 'run not completed after 3000 polls'; END\$\$;" \
			"SELECT count(*) FROM zcrm_write_result WHERE run_id = :run_id AND row_number IS NOT NULL;" >"$3.sql"
		t0=$(now_ms)
		n=$("$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -d $db -f "$3.sql" 2>"$3.err") ||
			{ cat "$3.err" >&2; die "part 8: zcrm_write_submit + poller"; }
		t1=$(now_ms)
		[ "$n" = "$nrows" ] || die "part 8: the submitted run has $n matched results, not $nrows"
		SUB_MS=$((t1 - t0))
		SUB_TL=$("$ZCRM_PY" "$BENCH_ROOT/part8.py" timeline "$log" "$t0" "$t1")
	}

	# kv KEY LINE: the value of KEY=value in LINE
	kv() {
		printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
	}

	if [ "${BENCH_PART8_WARMUP:-1}" = 1 ]; then
		part8_round warm-up
	fi
	for round in $(seq 1 "$rounds"); do
		part8_round "$round"
		at+=("$A_MS") pt+=("$P_MS") ct+=("$C_MS") dt+=("$D_MS") ot+=("$O_MS")
		bt+=("$(kv total_ms "$B_LINE")")
		for k in org_ms upload_ms create_ms poll_ms result_ms; do
			lat[$k]+=" $(kv $k "$B_LINE")"
		done
		b2+=("$(calc %.1f "$(kv together_ms "$B2_LINE") - $(kv org_ms "$B2_LINE")")")
		bb+=("$(calc %.1f "${at[-1]} + ${b2[-1]}")")
		fl+=("$(calc %.1f "${at[-1]} + $floor_parts * ${bt[-1]}")")
		rc+=("$(calc %.4f "${ct[-1]} / ${fl[-1]}")")
		rd+=("$(calc %.4f "${dt[-1]} / ${fl[-1]}")")
		ro+=("$(calc %.4f "${ot[-1]} / ${fl[-1]}")")
		for k in wall before_first org_ms upload_n upload_ms create_n create_ms poll_n poll_ms \
			poll_busy collect_poll_n collect_poll_ms result_n result_ms store_ms after_last token_n; do
			tlc[$k]+=" $(kv $k "$C_TL")"
			tld[$k]+=" $(kv $k "$D_TL")"
			tlo[$k]+=" $(kv $k "$O_TL")"
		done
		echo "round $round: a=${at[-1]} a2=${pt[-1]} b=$B_LINE b2=[$B2_LINE] c=${ct[-1]} [$C_TL] d=${dt[-1]} [$D_TL] d2=${ot[-1]} [$O_TL]" >>"$WORK/part8-rounds.txt"
	done

	# m NUMBERS: their median, no decimals
	m() {
		calc %.0f "$(median $1)"
	}
	# part8_breakdown WHO ARRAY: the table row of where WHO's time went
	part8_breakdown() {
		local -n t=$2
		row "8$1. where the time went (server's request log, medians, ms; each call from the previous call's end to its own end)" \
			"session start + prepare $(m "${t[before_first]}"); org $(m "${t[org_ms]}"); $(m "${t[upload_n]}") uploads $(m "${t[upload_ms]}"); $(m "${t[create_n]}") creates $(m "${t[create_ms]}"); $(m "${t[poll_n]}") polls before the first result download $(m "${t[poll_ms]}") (server busy $(m "${t[poll_busy]}")); collecting: $(m "${t[collect_poll_n]}") polls again $(m "${t[collect_poll_ms]}"), $(m "${t[result_n]}") result downloads $(m "${t[result_ms]}"), storing all but the last $(m "${t[store_ms]}"); storing the last + returning $(m "${t[after_last]}"); token calls $(m "${t[token_n]}")" \
			"–" "–"
	}
	local floor_m
	floor_m=$(calc %.0f "$(median "${fl[@]}")")
	row "8a. CSV+zip: zcrm_write_plan, $nrows rows x 10 columns (9 sent), $parts parts" \
		"$(m "${at[*]}") ms (rounds: ${at[*]} ms)" "" ""
	row "8a2. (info) prepare as zcrm_write does it: CSV+zip and storing the parts and $nrows source rows (zcrm_write_step_prepare, no request)" \
		"$(m "${pt[*]}") ms (rounds: ${pt[*]} ms)" "not in the floor" "–"
	row "8b. server's per-part latency, measured directly (call_delay_ms $delay; upload + create + poll + result of one part, python, keep-alive)" \
		"$(m "${bt[*]}") ms (rounds: $(list2 "${bt[@]}") ms; median upload $(m "${lat[upload_ms]}"), create $(m "${lat[create_ms]}"), poll $(m "${lat[poll_ms]}"), result $(m "${lat[result_ms]}") ms; org call $(m "${lat[org_ms]}") ms, once per session)" "" ""
	row "8b2. (info) the same for all $parts parts at once (threads, a connection each; the org call left out)" \
		"$(m "${b2[*]}") ms (rounds: $(list2 "${b2[@]}") ms): this server on these CPUs does not serve parts in parallel at one part's latency" "" ""
	row "8. (info) the best any client could do here: CSV+zip + all parts at once (8a + 8b2)" \
		"$(m "${bb[*]}") ms (rounds: $(list2 "${bb[@]}") ms)" "$(calc %.2f "$(m "${bb[*]}") / $floor_m") × floor" "–"
	row "8. floor: CSV+zip + ceil($parts / max_concurrency $mc) x per-part latency" \
		"$floor_m ms (rounds: $(list2 "${fl[@]}") ms)" "" ""
	row "8c. zcrm_write (token), end to end, new session" "$(m "${ct[*]}") ms (rounds: ${ct[*]} ms)" \
		"$(calc %.2f "$(median "${rc[@]}")") × floor (target ≤ 1.3; rounds: $(list2 "${rc[@]}"))" \
		"$(met "$(median "${rc[@]}")" '<=' 1.3)"
	row "8d. zcrm_write_submit (connection) + poller every 0.1 s, until completed, new session" \
		"$(m "${dt[*]}") ms (rounds: ${dt[*]} ms)" \
		"$(calc %.2f "$(median "${rd[@]}")") × floor (target ≤ 1.3; rounds: $(list2 "${rd[@]}"))" \
		"$(met "$(median "${rd[@]}")" '<=' 1.3)"
	row "8d2. the same through a server with org_id set (no org call)" \
		"$(m "${ot[*]}") ms (rounds: ${ot[*]} ms)" \
		"$(calc %.2f "$(median "${ro[@]}")") × floor (target ≤ 1.3; rounds: $(list2 "${ro[@]}"))" \
		"$(met "$(median "${ro[@]}")" '<=' 1.3)"
	part8_breakdown c tlc
	part8_breakdown d tld
	part8_breakdown d2 tlo
	zcrm_stop_mock "$WORK" life
}
