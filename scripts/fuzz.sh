#!/usr/bin/env bash
# Runs fuzz targets until each has had its CPU time, two at a time, at the
# lowest priority, so that builds beside them barely notice.
#
#   scripts/fuzz.sh [CPU-SECONDS] [TARGET...]      (default: 1800 s, every target)
#
# A target's time is the CPU time of its fuzzer process (from /proc), not the
# wall clock: on a busy 2-core machine the two differ by a lot, and the
# issue asks for CPU time. Corpora live outside the repository, in
# ~/.cache/stockade-fuzz-corpus/TARGET; each run's last lines go to
# ~/.cache/stockade-fuzz-corpus/TARGET.log. A crash stops that target and
# leaves its input in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

budget="${1:-1800}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
corpora="$HOME/.cache/stockade-fuzz-corpus"
export CARGO_TARGET_DIR="$HOME/.cache/stockade-fuzz-target"
mkdir -p "$corpora"

nice -n 19 cargo +nightly fuzz build --release
binaries="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

# Seconds of CPU that process $1 has used, user and system.
cpu_seconds() {
    local fields
    read -ra fields < "/proc/$1/stat" || { echo 0; return; }
    # Fields 14 and 15 (utime, stime) in clock ticks; the name (field 2) has no spaces here.
    echo $(( (fields[13] + fields[14]) / $(getconf CLK_TCK) ))
}

# Fuzzes target $1 until it has used $budget CPU-seconds, then interrupts it
# so that libFuzzer prints its final statistics.
fuzz_one() {
    local target="$1" log="$corpora/$1.log"
    mkdir -p "$corpora/$target" "artifacts/$target"
    nice -n 19 "$binaries/$target" "$corpora/$target" -print_final_stats=1 \
        -artifact_prefix="artifacts/$target/" > "$log" 2>&1 &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$(cpu_seconds "$pid")" -ge "$budget" ]; then
            kill -INT "$pid"
            break
        fi
        sleep 10
    done
    wait "$pid" || true
    local runs
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "$target: $budget CPU-s, $runs executions, corpus $(ls "$corpora/$target" | wc -l)," \
        "crashes $(ls "artifacts/$target" | wc -l)"
}

for ((i = 0; i < ${#targets[@]}; i += 2)); do
    fuzz_one "${targets[i]}" &
    if [ $((i + 1)) -lt ${#targets[@]} ]; then fuzz_one "${targets[i + 1]}" & fi
    wait
done
