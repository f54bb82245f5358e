# shellcheck shell=bash
# The one builder of test and demo PKIs, on the openssl CLI (source it).
# Keys are ECDSA P-256 unless asked for RSA; certificates last PKI_DAYS days
# (default 30). Every function writes DIR/NAME.key and DIR/NAME.crt and
# returns non-zero when openssl fails.
#   pki_ca DIR NAME SUBJECT [ADDEXT...]
#       a self-signed certificate (a CA, or a self-signed server certificate
#       with -addext extensions such as "subjectAltName=DNS:a.test")
#   pki_cert DIR NAME CA SUBJECT [EXTENSIONS [ec|rsa [SERIAL]]]
#       a certificate signed by DIR/CA, with EXTENSIONS (lines of an openssl
#       extension file; none when empty) and a serial (random when empty)
#   pki_expired DIR NAME CA SUBJECT
#       a client certificate signed by DIR/CA that expired in 2020 (`openssl
#       ca` is the CLI that sets dates in the past)
# Users: tests/proxy_lib.sh (make_certs), tests/handshaker_lib.sh
# (make_pki), scripts/run.sh (the demo PKI).

pki_key() { # FILE [ec|rsa]
	if [ "${2:-ec}" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
	fi
}

pki_ca() {
	local dir=$1 name=$2 subject=$3 ext
	shift 3
	local args=()
	for ext in "$@"; do args+=(-addext "$ext"); done
	pki_key "$dir/$name.key" &&
		openssl req -x509 -new -key "$dir/$name.key" -subj "$subject" -days "${PKI_DAYS:-30}" \
			"${args[@]}" -out "$dir/$name.crt" 2>/dev/null
}

pki_cert() {
	local dir=$1 name=$2 ca=$3 subject=$4 ext=${5:-} alg=${6:-ec} serial=${7:-}
	local args=(-CAcreateserial)
	[ -n "$serial" ] && args=(-set_serial "$serial")
	if [ -n "$ext" ]; then
		printf '%b\n' "$ext" >"$dir/$name.ext" || return 1
		args+=(-extfile "$dir/$name.ext")
	fi
	pki_key "$dir/$name.key" "$alg" &&
		openssl req -new -key "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr" 2>/dev/null &&
		openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
			"${args[@]}" -days "${PKI_DAYS:-30}" -out "$dir/$name.crt" 2>/dev/null &&
		rm -f "$dir/$name.csr" "$dir/$name.ext"
}

pki_expired() {
	local dir=$1 name=$2 ca=$3 subject=$4 db=$1/ca-db
	mkdir -p "$db" && : >"$db/index.txt" && echo 1000 >"$db/serial" || return 1
	cat >"$db/ca.cnf" <<CNF
[ ca ]
default_ca = d
[ d ]
database = $db/index.txt
serial = $db/serial
new_certs_dir = $db
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[ p ]
commonName = supplied
organizationName = optional
[ ext ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
CNF
	pki_key "$dir/$name.key" &&
		openssl req -new -key "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr" 2>/dev/null &&
		openssl ca -batch -config "$db/ca.cnf" -cert "$dir/$ca.crt" -keyfile "$dir/$ca.key" \
			-in "$dir/$name.csr" -out "$dir/$name.crt" -extensions ext \
			-startdate 20200101000000Z -enddate 20200201000000Z 2>/dev/null &&
		rm -f "$dir/$name.csr"
}
