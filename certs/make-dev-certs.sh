#!/usr/bin/env bash
# Makes a development CA, a server certificate and client certificates for
# fedcb's mutual-TLS deployment, with the openssl CLI only. See usage below
# and docs/deploy.md. Keys are EC P-256, signatures SHA-256, serials random.
set -euo pipefail

PROG=make-dev-certs.sh
CA_DAYS=3650
MAX_CLIENTS=10000
MAX_CLIENT_ID=4294967295 # the wire protocol's client_id is a uint32
MAX_DAYS=36500

usage() {
    cat <<EOF
usage: certs/make-dev-certs.sh --out DIR [--clients N] [--client-ids LIST]
                               [--names NAMES] [--days D]

  --out DIR          where the files go (created if missing)
  --clients N        client certificates for ids 0..N-1 (default 0, at most $MAX_CLIENTS)
  --client-ids LIST  client certificates for a comma list of ids, e.g. 3,7
  --names NAMES      server names, comma list; the first is the CN; IPv4/IPv6
                     addresses become IP: entries, others DNS: entries
                     (default localhost,127.0.0.1,::1); regenerates the server
                     certificate
  --days D           validity of the server and client certificates (default 365)
  --help             this text

Files in DIR:
  ca.crt ca.key                development CA; made when ca.key is absent,
                               reused otherwise
  server.crt server.key        CN = first name, SAN = NAMES, serverAuth
  client-<id>.crt client-<id>.key
                               CN and SAN DNS = fedcb-client-<id>, clientAuth;
                               kept when present and signed by this CA
Never commit *.key files.
EOF
}

fail() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit 1
}

# ---- input checks (bash builtins only, so they work before openssl is found)

# A client id: a decimal uint32 without leading zeros, so that the file name,
# the CN and the id the client claims are spelled the same way.
check_client_id() {
    local id=$1
    [[ $id =~ ^(0|[1-9][0-9]{0,9})$ ]] ||
        fail "client id '$id' is not a decimal number without leading zeros"
    ((id <= MAX_CLIENT_ID)) || fail "client id '$id' is larger than $MAX_CLIENT_ID"
}

# is_number_in_range TEXT MIN MAX: TEXT is decimal digits (at most 9) with a
# value in [MIN, MAX].
is_number_in_range() {
    [[ $1 =~ ^[0-9]{1,9}$ ]] || return 1
    ((10#$1 >= $2 && 10#$1 <= $3))
}

is_ipv4() {
    local addr=$1 part
    [[ $addr =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
    local -a parts
    IFS=. read -r -a parts <<<"$addr"
    for part in "${parts[@]}"; do
        ((10#$part <= 255)) || return 1
    done
}

# IPv6 in the textual forms of RFC 4291: eight hex groups, one "::" standing
# for one or more zero groups, and an optional dotted IPv4 tail.
is_ipv6() {
    local addr=$1
    [[ $addr == *:* && $addr =~ ^[0-9A-Fa-f:.]+$ ]] || return 1
    local groups_wanted=8
    if [[ $addr =~ ^(.*:)([0-9.]+)$ && ${BASH_REMATCH[2]} == *.* ]]; then
        local v6_head=${BASH_REMATCH[1]} v4_tail=${BASH_REMATCH[2]}
        is_ipv4 "$v4_tail" || return 1
        addr=${v6_head}0
        groups_wanted=7
    fi
    local head=$addr tail="" compressed=0
    if [[ $addr == *::* ]]; then
        head=${addr%%::*}
        tail=${addr#*::}
        [[ $tail != *::* ]] || return 1
        compressed=1
    fi
    local count=0 group part
    local -a groups
    for part in "$head" "$tail"; do
        [[ -n $part ]] || continue
        IFS=: read -r -a groups <<<"$part"
        [[ $part != *: && $part != :* ]] || return 1
        for group in "${groups[@]}"; do
            [[ $group =~ ^[0-9A-Fa-f]{1,4}$ ]] || return 1
            count=$((count + 1))
        done
    done
    if ((compressed)); then
        ((count < groups_wanted))
    else
        ((count == groups_wanted))
    fi
}

is_dns_name() {
    local label='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
    [[ ${#1} -le 253 && $1 =~ ^$label(\.$label)*$ ]]
}

# Fills SERVER_SAN ("DNS:a,IP:b") and SERVER_CN from the --names list.
parse_names() {
    local list=$1 name
    [[ -n $list && $list != *, && $list != ,* && $list != *,,* ]] ||
        fail "--names '$list' has an empty entry"
    local -a names
    IFS=, read -r -a names <<<"$list"
    SERVER_SAN=""
    for name in "${names[@]}"; do
        if is_ipv4 "$name" || is_ipv6 "$name"; then
            SERVER_SAN+=${SERVER_SAN:+,}IP:$name
        elif [[ $name =~ ^[0-9.]+$ ]]; then
            fail "server name '$name' is not a valid IPv4 address"
        elif is_dns_name "$name"; then
            SERVER_SAN+=${SERVER_SAN:+,}DNS:$name
        else
            fail "server name '$name' is neither an IP address nor a DNS name (letters, digits, '-', '.')"
        fi
    done
    SERVER_CN=${names[0]}
    ((${#SERVER_CN} <= 64)) || fail "server name '$SERVER_CN' is longer than the 64 characters a CN may hold"
}

parse_args() {
    OUT=""
    NUM_CLIENTS=0
    CLIENT_ID_LIST=""
    NAMES=""
    NAMES_GIVEN=0
    DAYS=365
    while (($# > 0)); do
        case $1 in
            --help | -h)
                usage
                exit 0
                ;;
            --out | --clients | --client-ids | --names | --days)
                (($# >= 2)) || fail "option $1 needs a value"
                ;;
            *)
                fail "unknown option '$1' (see --help)"
                ;;
        esac
        case $1 in
            --out) OUT=$2 ;;
            --clients) NUM_CLIENTS=$2 ;;
            --client-ids) CLIENT_ID_LIST=$2 ;;
            --names)
                NAMES=$2
                NAMES_GIVEN=1
                ;;
            --days) DAYS=$2 ;;
        esac
        shift 2
    done
    [[ -n $OUT ]] || fail "missing --out DIR (see --help)"
    is_number_in_range "$NUM_CLIENTS" 0 "$MAX_CLIENTS" ||
        fail "--clients '$NUM_CLIENTS' is not a number from 0 to $MAX_CLIENTS"
    NUM_CLIENTS=$((10#$NUM_CLIENTS))
    is_number_in_range "$DAYS" 1 "$MAX_DAYS" ||
        fail "--days '$DAYS' is not a number from 1 to $MAX_DAYS"
    DAYS=$((10#$DAYS))
    if ((!NAMES_GIVEN)); then
        NAMES=localhost,127.0.0.1,::1
    fi
    parse_names "$NAMES"
    CLIENT_IDS=()
    local id
    local -A seen=()
    for ((id = 0; id < NUM_CLIENTS; id++)); do
        CLIENT_IDS+=("$id")
        seen[$id]=1
    done
    if [[ -n $CLIENT_ID_LIST ]]; then
        [[ $CLIENT_ID_LIST != *, && $CLIENT_ID_LIST != ,* && $CLIENT_ID_LIST != *,,* ]] ||
            fail "--client-ids '$CLIENT_ID_LIST' has an empty entry"
        local -a listed
        IFS=, read -r -a listed <<<"$CLIENT_ID_LIST"
        for id in "${listed[@]}"; do
            check_client_id "$id"
            [[ -z ${seen[$id]:-} ]] || continue
            CLIENT_IDS+=("$id")
            seen[$id]=1
        done
    fi
}

# ---- openssl steps. Each writes into $STAGE first and moves the finished
# files into $OUT, so an interrupted run never leaves a key without its cert.

# run_openssl WHAT ARGS...: openssl ARGS; on failure one line naming WHAT and
# openssl's first complaint.
run_openssl() {
    local what=$1
    shift
    if ! openssl "$@" >"$STAGE/openssl.out" 2>"$STAGE/openssl.err"; then
        local reason
        reason=$(grep -m1 -v '^[[:space:]]*$' "$STAGE/openssl.err" || true)
        fail "openssl failed making $what: ${reason:-no message}"
    fi
}

new_key() {
    run_openssl "$2" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$1"
    chmod 600 "$1"
}

# Sets SERIAL to 128 random bits.
random_serial() {
    run_openssl "a serial number" rand -hex 16
    SERIAL=0x$(<"$STAGE/openssl.out")
}

# key_and_cert_match KEY CERT: both readable and holding the same public key.
key_and_cert_match() {
    local from_key from_cert
    from_key=$(openssl pkey -in "$1" -pubout 2>/dev/null) || return 1
    from_cert=$(openssl x509 -in "$2" -noout -pubkey 2>/dev/null) || return 1
    [[ -n $from_key && $from_key == "$from_cert" ]]
}

make_ca() {
    new_key "$STAGE/ca.key" "the CA key"
    cat >"$STAGE/ca.ext" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = fedcb development CA
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    random_serial
    run_openssl "the CA certificate" req -new -x509 -sha256 -config "$STAGE/ca.ext" \
        -extensions ca -key "$STAGE/ca.key" -days "$CA_DAYS" \
        -set_serial "$SERIAL" -out "$STAGE/ca.crt"
    chmod 644 "$STAGE/ca.crt"
    mv "$STAGE/ca.key" "$OUT/ca.key"
    mv "$STAGE/ca.crt" "$OUT/ca.crt"
}

# Reuses an existing CA after checking that its key and certificate belong
# together; otherwise every certificate made now would be useless.
use_or_make_ca() {
    if [[ ! -e $OUT/ca.key ]]; then
        [[ ! -e $OUT/ca.crt ]] ||
            fail "$OUT/ca.crt exists without $OUT/ca.key; remove it or restore the key"
        make_ca
        CA_STATE="new"
        return
    fi
    [[ -f $OUT/ca.crt ]] || fail "$OUT/ca.key exists but $OUT/ca.crt is missing"
    key_and_cert_match "$OUT/ca.key" "$OUT/ca.crt" ||
        fail "$OUT/ca.key and $OUT/ca.crt are unreadable or do not belong together"
    CA_STATE="reused"
}

# issue NAME CN SAN EKU: signs a fresh key pair into $OUT/NAME.{key,crt}.
issue() {
    local name=$1 cn=$2 san=$3 eku=$4
    new_key "$STAGE/$name.key" "$name.key"
    cat >"$STAGE/$name.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $eku
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    run_openssl "the request for $name" req -new -sha256 -key "$STAGE/$name.key" \
        -subj "/CN=$cn" -out "$STAGE/$name.csr"
    random_serial
    run_openssl "$name.crt" x509 -req -sha256 -in "$STAGE/$name.csr" \
        -CA "$OUT/ca.crt" -CAkey "$OUT/ca.key" -set_serial "$SERIAL" \
        -days "$DAYS" -extfile "$STAGE/$name.ext" -out "$STAGE/$name.crt"
    chmod 644 "$STAGE/$name.crt"
    mv "$STAGE/$name.key" "$OUT/$name.key"
    mv "$STAGE/$name.crt" "$OUT/$name.crt"
}

# A certificate is kept when its key is there and matches it, and it still
# verifies against the CA in $OUT (not signed by an earlier CA, not expired).
is_usable() {
    [[ -f $OUT/$1.key && -f $OUT/$1.crt ]] &&
        key_and_cert_match "$OUT/$1.key" "$OUT/$1.crt" &&
        openssl verify -CAfile "$OUT/ca.crt" "$OUT/$1.crt" >/dev/null 2>&1
}

# as_ranges IDS...: "0-99 120" for 0 1 ... 99 120 (ids in the order given).
as_ranges() {
    local out="" start=$1 prev=$1 id
    shift
    for id in "$@" ""; do
        if [[ -n $id ]] && ((id == prev + 1)); then
            prev=$id
            continue
        fi
        if ((start == prev)); then
            out+=" $start"
        else
            out+=" $start-$prev"
        fi
        start=$id
        prev=$id
    done
    printf '%s' "${out# }"
}

main() {
    parse_args "$@"
    command -v openssl >/dev/null 2>&1 || fail "the openssl command is not installed (Debian: apt-get install openssl)"
    umask 077
    mkdir -p -- "$OUT" 2>/dev/null || fail "cannot create directory '$OUT'"
    [[ -d $OUT && -w $OUT ]] || fail "'$OUT' is not a writable directory"
    STAGE=$(mktemp -d "$OUT/.make-dev-certs.XXXXXX") || fail "cannot create a temporary directory in '$OUT'"
    trap 'rm -rf "$STAGE"' EXIT

    use_or_make_ca

    local server_state="kept"
    if ((NAMES_GIVEN)) || ! is_usable server; then
        issue server "$SERVER_CN" "$SERVER_SAN" serverAuth
        server_state="new"
    fi

    local made=() kept=() id
    for id in "${CLIENT_IDS[@]}"; do
        if is_usable "client-$id"; then
            kept+=("$id")
        else
            issue "client-$id" "fedcb-client-$id" "DNS:fedcb-client-$id" clientAuth
            made+=("$id")
        fi
    done

    printf 'CA:      %s/ca.crt, ca.key (%s)\n' "$OUT" "$CA_STATE"
    printf 'server:  %s/server.crt, server.key (%s)\n' "$OUT" "$server_state"
    if [[ $server_state == new ]]; then
        printf '         CN=%s  SAN=%s\n' "$SERVER_CN" "$SERVER_SAN"
    fi
    if ((${#made[@]} > 0)); then
        printf 'clients made: %s\n' "$(as_ranges "${made[@]}")"
    fi
    if ((${#kept[@]} > 0)); then
        printf 'clients kept: %s\n' "$(as_ranges "${kept[@]}")"
    fi
    printf 'Private keys (*.key) must never be committed; ca.key stays on the machine that signs.\n'
}

main "$@"
