# Real TLS clients for the tagger suites. Each sends one ClientHello to
# ADDR:PORT with SNI NAME and gives up quickly: the servers in these suites
# only read the hello. Source after tests/lib.sh.

TS_CLIENTS="openssl-tls12 openssl-tls13 openssl-frag512 curl gnutls python3 chromium"

# run_client CLIENT ADDR PORT NAME (openssl-nosni ignores NAME)
run_client() {
	local client=$1 addr=$2 port=$3 name=$4
	case $client in
	openssl-tls12)
		timeout 5 openssl s_client -connect "$addr:$port" -servername "$name" -tls1_2 \
			-alpn h2,http/1.1 </dev/null ;;
	openssl-tls13)
		timeout 5 openssl s_client -connect "$addr:$port" -servername "$name" -tls1_3 \
			-alpn h2 </dev/null ;;
	openssl-nosni)
		timeout 5 openssl s_client -connect "$addr:$port" -noservername -tls1_3 </dev/null ;;
	openssl-frag512)
		# an ffdhe8192 key share (1 KiB) makes the hello span three 512-byte records
		timeout 5 openssl s_client -connect "$addr:$port" -servername "$name" -tls1_3 \
			-groups ffdhe8192:X25519 -max_send_frag 512 </dev/null ;;
	curl)
		curl -sk --max-time 5 --resolve "$name:$port:$addr" "https://$name:$port/" ;;
	gnutls)
		timeout 5 gnutls-cli --insecure --sni-hostname="$name" --alpn=http/1.1 -p "$port" \
			"$addr" </dev/null ;;
	python3)
		timeout 5 python3 -c '
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2", "http/1.1"])
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
try:
    ctx.wrap_socket(s, server_hostname=sys.argv[3])
except Exception:
    pass
' "$addr" "$port" "$name" ;;
	chromium)
		chromium_headless --host-resolver-rules="MAP $name $addr" "https://$name:$port/" ;;
	esac
}
