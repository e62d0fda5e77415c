#!/usr/bin/env bash
# Bad input to the fedcb CLI: exit status 1 or 2 (never a crash), nothing on
# stdout, exactly one line on stderr starting with "fedcb: " that names the
# problem. Usage: cli_bad_input.sh <path-to-fedcb> <source-dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
cli_init "$@"

BASE=$CONFIGS/tiny_softmax.ini

say "the base config used below is valid"
simulate_ok "$WORK/base" --config "$BASE" --set run.rounds=2

say "missing config file"
expect_failure simulate --config "$WORK/no-such-config.ini"
message_has "$WORK/no-such-config.ini"

say "config path that is a directory"
mkdir "$WORK/config_dir.ini"
expect_failure simulate --config "$WORK/config_dir.ini"
message_has "$WORK/config_dir.ini"

say "missing dataset: libsvm with a nonexistent data.path"
expect_failure simulate --config "$BASE" --set data.source=libsvm --set data.path="$WORK/missing.libsvm"
message_has "$WORK/missing.libsvm"

say "missing dataset: fashion_mnist with data.path=/nonexistent"
expect_failure simulate --config "$BASE" --set data.source=fashion_mnist --set data.path=/nonexistent
message_has "/nonexistent"

say "unknown policy name"
expect_failure simulate --config "$BASE" --set policy.kind=no_such_policy
message_has "no_such_policy"

say "malformed config line (no '=')"
printf '[run]\nrounds = 3\nthis line has no equals sign\n' >"$WORK/malformed.ini"
expect_failure simulate --config "$WORK/malformed.ini"
message_has "$WORK/malformed.ini:3"

say "a line longer than the INI reader takes (it would be split in two)"
printf '[run]\nrounds = 3 ; %0250d\n' 0 >"$WORK/long_line.ini"
expect_failure simulate --config "$WORK/long_line.ini"
message_has "$WORK/long_line.ini:2" "line longer than 198 characters"

say "unknown key"
printf '[run]\nrounds = 3\n\n[policy]\ntempreature = 0.1\n' >"$WORK/unknown_key.ini"
expect_failure simulate --config "$WORK/unknown_key.ini"
message_has "$WORK/unknown_key.ini:5" "tempreature" "policy"

say "a cnn on contexts that are not a square image (synthetic_dim = 20)"
expect_failure simulate --config "$BASE" --set model.arch=cnn
message_has "cnn" "input_dim = 20 is not a square" "model.image_shape"

say "a cnn image_shape that does not multiply to the context width"
expect_failure simulate --config "$BASE" --set model.arch=cnn --set model.image_shape=4,4,1
message_has "image_shape = 4,4,1" "input_dim = 20"

say "unknown key through --set"
expect_failure simulate --config "$BASE" --set policy.tempreature=0.1
message_has "tempreature" "policy"

say "unknown section"
printf '[run]\nrounds = 3\n[no_such_section]\nx = 1\n' >"$WORK/unknown_section.ini"
expect_failure simulate --config "$WORK/unknown_section.ini"
message_has "$WORK/unknown_section.ini:4" "no_such_section"

say "value of the wrong type in a file (rounds = abc)"
printf '[run]\nrounds = abc\n' >"$WORK/wrong_type.ini"
expect_failure simulate --config "$WORK/wrong_type.ini"
message_has "$WORK/wrong_type.ini:2" "rounds" "abc"

say "value of the wrong type through --set"
expect_failure simulate --config "$BASE" --set run.rounds=abc
message_has "rounds" "abc"

say "malformed --set (no section)"
expect_failure simulate --config "$BASE" --set rounds=3
message_has "rounds=3"

say "data.classes that does not match the dataset"
expect_failure simulate --config "$BASE" --set data.classes=7 --set data.synthetic_classes=10
message_has "data.classes" "7" "10"

say "libsvm file with a malformed line"
printf '1 1:0.5 2:0.25\n2 1:0.125 2:1\n1 3:abc\n2 1:1\n' >"$WORK/bad.libsvm"
expect_failure simulate --config "$BASE" --set data.source=libsvm --set data.path="$WORK/bad.libsvm"
message_has "$WORK/bad.libsvm:3"

say "clients_per_round > num_clients"
expect_failure simulate --config "$BASE" --set clients.num_clients=5 --set clients.clients_per_round=6
message_has "clients_per_round"

say "negative temperature"
expect_failure simulate --config "$BASE" --set policy.temperature=-1
message_has "temperature"

say "--threads 0"
expect_failure simulate --config "$BASE" --threads 0
message_has "--threads" "0"

say "--threads without a value"
expect_failure simulate --config "$BASE" --threads
message_has "--threads"

say "unknown option"
expect_failure simulate --config "$BASE" --no-such-option
message_has "--no-such-option"

say "unknown command"
expect_failure frobnicate
message_has "frobnicate"

say "no command"
expect_failure

say "simulate without --config"
expect_failure simulate
message_has "--config"

say "coordinator: --insecure off loopback is refused"
expect_failure coordinator --config "$BASE" --listen 0.0.0.0:0 --insecure
message_has "--insecure" "loopback" "0.0.0.0:0"

say "coordinator: neither --tls-dir nor --insecure"
expect_failure coordinator --config "$BASE" --listen 127.0.0.1:0
message_has "--tls-dir" "--insecure"

say "coordinator: a --tls-dir without the server's files"
expect_failure coordinator --config "$BASE" --listen 127.0.0.1:0 --tls-dir "$WORK/no-such-tls"
message_has "$WORK/no-such-tls/ca.crt"

say "coordinator: a bad [network] value"
expect_failure coordinator --config "$BASE" --listen 127.0.0.1:0 --insecure --set network.quorum=1.5
message_has "network.quorum"

say "coordinator: without --listen"
expect_failure coordinator --config "$BASE" --insecure
message_has "--listen"

say "client: --client-id out of range"
expect_failure client --config "$BASE" --coordinator 127.0.0.1:1 --client-id 4000 --insecure
message_has "--client-id 4000" "clients.num_clients"

say "client: --insecure with a remote coordinator"
expect_failure client --config "$BASE" --coordinator 10.1.2.3:50051 --client-id 1 --insecure
message_has "--insecure" "10.1.2.3:50051"

say "client: a --tls-dir without its certificate"
expect_failure client --config "$BASE" --coordinator 127.0.0.1:1 --client-id 1 --tls-dir "$WORK/no-such-tls"
message_has "$WORK/no-such-tls/ca.crt"

say "client: a non-numeric --client-id"
expect_failure client --config "$BASE" --coordinator 127.0.0.1:1 --client-id seven --insecure
message_has "seven"

say "fedcb version exits 0 and prints the version"
run_fedcb version version
check_no_sanitizer_report version
[[ $RC -eq 0 ]] || die "fedcb version exited with status $RC"
grep -Eq '^fedcb [0-9]+\.[0-9]+\.[0-9]+$' "$RUN_OUT" || die "fedcb version printed: $(cat "$RUN_OUT")"

say "fedcb help exits 0 and documents simulate"
run_fedcb help help
check_no_sanitizer_report help
[[ $RC -eq 0 ]] || die "fedcb help exited with status $RC"
grep -q 'simulate --config FILE' "$RUN_OUT" || die "fedcb help does not document simulate --config FILE"

say "all bad-input checks passed"
