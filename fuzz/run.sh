#!/usr/bin/env bash
# Fuzzes the connector parsers with libFuzzer (cargo-fuzz), each target for
# SECONDS (default 600), seeded from the committed fixtures, and prints one
# summary row per target: executions, executions per second, coverage
# (edges), features, corpus size and findings (crash/timeout/OOM files).
#
#   cargo install cargo-fuzz          # once
#   fuzz/run.sh [SECONDS] [TARGET...] # all targets when none is named
#   JOBS=2 fuzz/run.sh                # two targets at a time
#
# cargo-fuzz needs nightly features (the address sanitizer): the stable
# toolchain is told to allow them with RUSTC_BOOTSTRAP=1, as nothing else
# is installed here. Findings land in fuzz/artifacts/TARGET/; reproduce one
# with `RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/FILE`.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds="${1:-600}"
shift || true
all=(mbox mail html docx pdf markdown text whatsapp telegram sms imessage attributed_body screenshot)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
jobs="${JOBS:-1}"
fx=../fixtures

seed() {
    local target=$1 dir=corpus/$1
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || return 0
    case $target in
        mbox) cp $fx/demo/mail/inbox.mbox $fx/connectors/mail/broken/truncated.mbox "$dir"/ ;;
        mail) cp $fx/connectors/mail/*.eml $fx/connectors/mail/broken/*.eml $fx/connectors/mail/Maildir/*/* "$dir"/ ;;
        html) printf '<html><head><title>T</title></head><body><h1>Hi</h1><p>a <b>b</b> &amp; <a href="x">c</a></p><table><tr><td>1</td></tr></table></body></html>' > "$dir"/page.html ;;
        docx) cp $fx/connectors/docs/*.docx $fx/connectors/docs/broken/*.docx "$dir"/ ;;
        pdf) cp $fx/connectors/docs/*.pdf $fx/connectors/docs/broken/*.pdf "$dir"/ ;;
        markdown) cp $fx/demo/notes/*.md "$dir"/ ;;
        text) cp $fx/demo/notes/*.txt "$dir"/ ;;
        whatsapp) cp $fx/demo/chats/whatsapp/*.txt "$dir"/ ;;
        telegram) cp $fx/demo/chats/telegram/result.json "$dir"/demo.json; cp $fx/connectors/chats/broken/telegram/result.json "$dir"/broken.json ;;
        sms) cp $fx/demo/chats/sms/sms-backup.xml "$dir"/demo.xml; cp $fx/connectors/chats/broken/sms-backup.xml "$dir"/broken.xml ;;
        imessage) cp $fx/connectors/chats/imessage/chat.db "$dir"/good.db; cp $fx/connectors/chats/broken/not-imessage/chat.db "$dir"/other.db ;;
        attributed_body) python3 - "$fx/connectors/chats/imessage/chat.db" "$dir" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("select attributedBody from message where attributedBody is not null")
for i, (blob,) in enumerate(rows):
    open(f"{sys.argv[2]}/body{i}", "wb").write(blob)
PY
            ;;
        screenshot)
            printf 'Screenshot 2026-03-04 at 10.22.31 PM.png\n' > "$dir"/name-12h
            printf 'Screenshot_20260304-102231.png\n' > "$dir"/name-android
            for f in $fx/demo/screenshots/*.png; do
                { printf '%s\n' "$(basename "$f")"; head -c 4096 "$f"; } > "$dir/$(basename "$f")"
            done ;;
    esac
}

cargo fuzz build -O
mkdir -p target/logs
run_one() {
    local target=$1
    seed "$target"
    cargo fuzz run -O "$target" -- -max_total_time="$seconds" -timeout=60 \
        -rss_limit_mb=4096 -print_final_stats=1 >"target/logs/$target.log" 2>&1 || true
}
running=0
for t in "${targets[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

printf '%-16s %12s %8s %8s %8s %7s %s\n' target executions exec/s edges features corpus findings
for t in "${targets[@]}"; do
    log=target/logs/$t.log
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')
    corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')
    found=$(ls artifacts/"$t" 2>/dev/null | wc -l)
    printf '%-16s %12s %8s %8s %8s %7s %s\n' "$t" "$execs" "$rate" "$cov" "$ft" "$corp" "$found"
done
