#!/usr/bin/env bash
# certs/make-dev-certs.sh: the CA, server and client certificates it makes
# verify and carry the names, key usages and file modes the mutual-TLS
# deployment relies on; reruns reuse the CA; bad input fails with one line.
# Usage: cli_certs.sh <path-to-fedcb> <source-dir>   (the binary is unused)
set -euo pipefail

if [[ $# -ne 2 ]]; then
    printf 'usage: %s <path-to-fedcb> <source-dir>\n' "$0" >&2
    exit 2
fi
SCRIPT=$2/certs/make-dev-certs.sh

say() {
    printf -- '-- %s\n' "$*"
}

die() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

[[ -f $SCRIPT ]] || die "$SCRIPT does not exist"
command -v openssl >/dev/null 2>&1 || die "the openssl command is not installed; this test needs it"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fedcb-certs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# make_certs NAME ARGS...: runs the script (with SCRIPT_PATH as its PATH when
# set); stdout/stderr in $WORK/NAME.{out,err}, the exit status in RC. Never
# stops the test.
make_certs() {
    local name=$1
    shift
    RUN_OUT=$WORK/$name.out
    RUN_ERR=$WORK/$name.err
    RC=0
    PATH=${SCRIPT_PATH:-$PATH} "$BASH" "$SCRIPT" "$@" >"$RUN_OUT" 2>"$RUN_ERR" || RC=$?
}

make_certs_ok() {
    make_certs "$@"
    if [[ $RC -ne 0 ]]; then
        cat "$RUN_ERR" >&2
        die "make-dev-certs.sh ${*:2} exited with status $RC"
    fi
}

# verifies CA CERT [OPENSSL-VERIFY-OPTIONS...]: succeeds when CERT verifies.
verifies() {
    local ca=$1 cert=$2
    shift 2
    openssl verify -CAfile "$ca" "$@" "$cert" >/dev/null 2>&1
}

expect_verifies() {
    verifies "$@" || die "openssl verify -CAfile $1 ${*:3} $2 fails: $(openssl verify -CAfile "$1" "${@:3}" "$2" 2>&1 | tail -n 1)"
}

expect_not_verifies() {
    ! verifies "$@" || die "openssl verify -CAfile $1 ${*:3} $2 succeeds; expected a failure"
}

# extension CERT NAME: the text of one X.509v3 extension.
extension() {
    openssl x509 -in "$1" -noout -ext "$2" | sed 1d | sed 's/^[[:space:]]*//'
}

subject_of() {
    openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'
}

serial_of() {
    openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'
}

mode_of() {
    stat -c %a "$1"
}

check_key() {
    local key=$1 cert=$2
    [[ $(mode_of "$key") == 600 ]] || die "$key has mode $(mode_of "$key"), expected 600"
    openssl pkey -in "$key" -noout -text 2>/dev/null | grep -q 'NIST CURVE: P-256' ||
        die "$key is not an EC P-256 key"
    [[ $(openssl pkey -in "$key" -pubout) == "$(openssl x509 -in "$cert" -noout -pubkey)" ]] ||
        die "$key does not hold the key of $cert"
    openssl x509 -in "$cert" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA256' ||
        die "$cert is not signed with ecdsa-with-SHA256"
}

check_client() {
    local dir=$1 id=$2
    local cert=$dir/client-$id.crt
    [[ -f $cert ]] || die "$cert was not made"
    expect_verifies "$dir/ca.crt" "$cert"
    expect_verifies "$dir/ca.crt" "$cert" -purpose sslclient
    expect_not_verifies "$dir/ca.crt" "$cert" -purpose sslserver
    [[ $(subject_of "$cert") == "CN=fedcb-client-$id" ]] ||
        die "$cert subject is '$(subject_of "$cert")', expected CN=fedcb-client-$id"
    [[ $(extension "$cert" subjectAltName) == "DNS:fedcb-client-$id" ]] ||
        die "$cert SAN is '$(extension "$cert" subjectAltName)', expected DNS:fedcb-client-$id"
    [[ $(extension "$cert" extendedKeyUsage) == "TLS Web Client Authentication" ]] ||
        die "$cert extendedKeyUsage is '$(extension "$cert" extendedKeyUsage)', expected clientAuth only"
    check_key "$dir/client-$id.key" "$cert"
}

# expect_bad_input TEXT ARGS...: the script fails with exactly one line on
# stderr that mentions TEXT, and makes no certificate.
expect_bad_input() {
    local text=$1
    shift
    local out_dir=$WORK/bad
    rm -rf "$out_dir"
    make_certs bad "$@"
    [[ $RC -ne 0 ]] || die "make-dev-certs.sh $* succeeded; expected an error"
    [[ $(wc -l <"$RUN_ERR") -eq 1 ]] ||
        die "make-dev-certs.sh $* wrote $(wc -l <"$RUN_ERR") lines to stderr, expected one: $(cat "$RUN_ERR")"
    grep -qF -- "$text" "$RUN_ERR" || die "make-dev-certs.sh $*: error does not mention '$text': $(cat "$RUN_ERR")"
    [[ ! -e $out_dir/ca.crt ]] || die "make-dev-certs.sh $* failed but made $out_dir/ca.crt"
    printf '   %s' "$(cat "$RUN_ERR")"
    printf '\n'
}

A=$WORK/a
B=$WORK/b

say "--help prints usage and succeeds"
make_certs_ok help --help
grep -q -- '--client-ids' "$RUN_OUT" || die "--help does not describe --client-ids"

say "a CA, a server with extra names and clients 0..2 plus 7"
make_certs_ok a --out "$A" --clients 3 --client-ids 7 --names localhost,127.0.0.1,::1,coord.example,10.1.2.3
grep -q 'must never be committed' "$RUN_OUT" || die "the script does not remind that keys must not be committed"
for f in ca.crt ca.key server.crt server.key; do
    [[ -f $A/$f ]] || die "$A/$f was not made"
done
[[ ! -e $A/client-3.crt ]] || die "--clients 3 made client-3 (expected ids 0..2 only)"
[[ -z $(find "$A" -name '.make-dev-certs.*') ]] || die "the script left its temporary directory in $A"

say "the CA"
[[ $(mode_of "$A/ca.key") == 600 ]] || die "$A/ca.key has mode $(mode_of "$A/ca.key"), expected 600"
extension "$A/ca.crt" basicConstraints | grep -q 'CA:TRUE' || die "$A/ca.crt is not a CA certificate"
check_key "$A/ca.key" "$A/ca.crt"

say "the server certificate"
expect_verifies "$A/ca.crt" "$A/server.crt"
expect_verifies "$A/ca.crt" "$A/server.crt" -purpose sslserver
expect_not_verifies "$A/ca.crt" "$A/server.crt" -purpose sslclient
[[ $(subject_of "$A/server.crt") == "CN=localhost" ]] ||
    die "server subject is '$(subject_of "$A/server.crt")', expected CN=localhost (the first name)"
SAN=$(extension "$A/server.crt" subjectAltName)
for want in "DNS:localhost" "IP Address:127.0.0.1" "IP Address:0:0:0:0:0:0:0:1" \
    "DNS:coord.example" "IP Address:10.1.2.3"; do
    [[ ", $SAN, " == *", $want, "* ]] || die "server SAN '$SAN' lacks '$want'"
done
[[ $(extension "$A/server.crt" extendedKeyUsage) == "TLS Web Server Authentication" ]] ||
    die "server extendedKeyUsage is '$(extension "$A/server.crt" extendedKeyUsage)', expected serverAuth only"
expect_verifies "$A/ca.crt" "$A/server.crt" -verify_hostname coord.example
expect_verifies "$A/ca.crt" "$A/server.crt" -verify_ip 10.1.2.3
expect_verifies "$A/ca.crt" "$A/server.crt" -verify_ip ::1
expect_not_verifies "$A/ca.crt" "$A/server.crt" -verify_ip 10.1.2.4
expect_not_verifies "$A/ca.crt" "$A/server.crt" -verify_hostname other.example
check_key "$A/server.key" "$A/server.crt"

say "the client certificates"
for id in 0 1 2 7; do
    check_client "$A" "$id"
done
SERIALS=$(for f in "$A"/*.crt; do serial_of "$f"; done)
[[ $(sort -u <<<"$SERIALS" | wc -l) -eq 6 ]] || die "serial numbers are not all different: $SERIALS"
while read -r serial; do
    [[ ${#serial} -ge 16 ]] || die "serial number $serial is shorter than 64 bits; expected a random one"
done <<<"$SERIALS"

say "the default names when --names is not given"
make_certs_ok default --out "$WORK/default"
[[ $(extension "$WORK/default/server.crt" subjectAltName) == \
    "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" ]] ||
    die "default server SAN is '$(extension "$WORK/default/server.crt" subjectAltName)'"
[[ -z $(find "$WORK/default" -name 'client-*') ]] || die "--clients defaults to 0 but clients were made"

say "a rerun with --client-ids 5 reuses the CA and keeps what exists"
cp -p "$A/ca.crt" "$A/ca.key" "$A/server.crt" "$A/client-0.crt" "$A/client-0.key" "$WORK/"
make_certs_ok rerun --out "$A" --client-ids 5
cmp -s "$A/ca.crt" "$WORK/ca.crt" || die "the rerun changed ca.crt"
cmp -s "$A/ca.key" "$WORK/ca.key" || die "the rerun changed ca.key"
cmp -s "$A/server.crt" "$WORK/server.crt" || die "the rerun without --names changed server.crt"
cmp -s "$A/client-0.crt" "$WORK/client-0.crt" || die "the rerun regenerated client-0.crt"
cmp -s "$A/client-0.key" "$WORK/client-0.key" || die "the rerun regenerated client-0.key"
check_client "$A" 5

say "a missing client certificate is made again; --names regenerates the server"
rm "$A/client-1.crt"
make_certs_ok again --out "$A" --clients 2 --names coord.example,192.168.7.9
check_client "$A" 1
cmp -s "$A/client-0.crt" "$WORK/client-0.crt" || die "client-0.crt was regenerated though it existed"
[[ $(subject_of "$A/server.crt") == "CN=coord.example" ]] ||
    die "after --names the server subject is '$(subject_of "$A/server.crt")', expected CN=coord.example"
[[ $(extension "$A/server.crt" subjectAltName) == "DNS:coord.example, IP Address:192.168.7.9" ]] ||
    die "after --names the server SAN is '$(extension "$A/server.crt" subjectAltName)'"
expect_verifies "$A/ca.crt" "$A/server.crt"
cmp -s "$A/ca.crt" "$WORK/ca.crt" || die "the rerun with --names changed ca.crt"

say "another --out directory has its own CA that the first does not trust"
make_certs_ok b --out "$B" --clients 1
! cmp -s "$A/ca.crt" "$B/ca.crt" || die "two output directories got the same CA"
expect_verifies "$B/ca.crt" "$B/client-0.crt"
expect_not_verifies "$A/ca.crt" "$B/client-0.crt"
expect_not_verifies "$B/ca.crt" "$A/client-0.crt"
expect_not_verifies "$A/ca.crt" "$B/server.crt"

say "bad input fails with one line"
expect_bad_input "--bogus" --out "$WORK/bad" --bogus
expect_bad_input "--out" --clients 2
expect_bad_input "--out" --out
expect_bad_input "x" --out "$WORK/bad" --client-ids 3,x
expect_bad_input "-1" --out "$WORK/bad" --client-ids -1
expect_bad_input "007" --out "$WORK/bad" --client-ids 007
expect_bad_input "4294967296" --out "$WORK/bad" --client-ids 4294967296
expect_bad_input "3,,4" --out "$WORK/bad" --client-ids 3,,4
expect_bad_input "abc" --out "$WORK/bad" --clients abc
expect_bad_input "-1" --out "$WORK/bad" --clients -1
expect_bad_input "10001" --out "$WORK/bad" --clients 10001
expect_bad_input "0" --out "$WORK/bad" --days 0
expect_bad_input "bad name" --out "$WORK/bad" --names "localhost,bad name"
expect_bad_input "300.1.2.3" --out "$WORK/bad" --names localhost,300.1.2.3
expect_bad_input "1::2::3" --out "$WORK/bad" --names 1::2::3
mkdir "$WORK/empty-path"
SCRIPT_PATH=$WORK/empty-path expect_bad_input "openssl" --out "$WORK/bad" --clients 1
mkdir "$WORK/half"
cp "$A/ca.crt" "$WORK/half/"
expect_bad_input "ca.key" --out "$WORK/half"
cp "$B/ca.key" "$WORK/half/"
expect_bad_input "do not belong together" --out "$WORK/half"

say "all certificate checks passed"
