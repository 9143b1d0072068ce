#!/bin/sh
# make_certs.sh DIR - certificates for `zoho_mock.py --tls-cert --tls-key`.
#
# Creates in DIR (made, mode 755, when missing), all valid for 2 days, all
# mode 644 (the PostgreSQL backend that reads ca.pem runs as another user):
#
#   ca.pem / ca.key                   self-signed CA, CN "zcrm_bulk test CA"
#   server.pem / server.key           signed by the CA, SAN DNS:localhost,IP:127.0.0.1
#   wrong-host.pem / wrong-host.key   signed by the CA, SAN DNS:other.example only
#   self-signed.pem / self-signed.key self-signed leaf (not from the CA),
#                                     SAN DNS:localhost,IP:127.0.0.1
#
# Keys are EC P-256, unencrypted.  Needs the openssl CLI (1.1.1 or 3.x); uses
# its own minimal config, so the system openssl.cnf plays no part.  Existing
# files of these names are overwritten.  Exit status 0 on success.

set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
DIR=$1
DAYS=2

if ! command -v openssl >/dev/null 2>&1; then
	echo "make_certs.sh: the openssl command is not installed" >&2
	exit 1
fi

umask 022
if [ ! -d "$DIR" ]; then
	mkdir -p "$DIR"
	chmod 755 "$DIR"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/make_certs.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

# A minimal request config: the subject always comes from -subj.
cat >"$TMP/req.cnf" <<'EOF'
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
CN = unused
EOF

newkey() {
	# newkey KEYFILE: an EC P-256 private key.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1" 2>/dev/null
}

serial() {
	# a random positive 127-bit serial number
	echo "0x7$(openssl rand -hex 16 | cut -c2-)"
}

# --- the CA ---------------------------------------------------------------
newkey "$DIR/ca.key"
openssl req -config "$TMP/req.cnf" -x509 -new -key "$DIR/ca.key" \
	-out "$DIR/ca.pem" -days "$DAYS" -sha256 -set_serial "$(serial)" \
	-subj "/CN=zcrm_bulk test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-addext "subjectKeyIdentifier=hash"

# --- leaves signed by the CA ----------------------------------------------
leaf() {
	# leaf NAME CN SAN
	name=$1 cn=$2 san=$3
	newkey "$DIR/$name.key"
	openssl req -config "$TMP/req.cnf" -new -key "$DIR/$name.key" \
		-out "$TMP/$name.csr" -subj "/CN=$cn"
	cat >"$TMP/$name.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
subjectAltName = $san
EOF
	openssl x509 -req -in "$TMP/$name.csr" -CA "$DIR/ca.pem" \
		-CAkey "$DIR/ca.key" -set_serial "$(serial)" -days "$DAYS" -sha256 \
		-extfile "$TMP/$name.ext" -out "$DIR/$name.pem" 2>/dev/null
}

leaf server localhost "DNS:localhost,IP:127.0.0.1"
leaf wrong-host other.example "DNS:other.example"

# --- a self-signed leaf (no CA) -------------------------------------------
newkey "$DIR/self-signed.key"
openssl req -config "$TMP/req.cnf" -x509 -new -key "$DIR/self-signed.key" \
	-out "$DIR/self-signed.pem" -days "$DAYS" -sha256 -set_serial "$(serial)" \
	-subj "/CN=localhost" \
	-addext "basicConstraints=critical,CA:FALSE" \
	-addext "keyUsage=critical,digitalSignature" \
	-addext "extendedKeyUsage=serverAuth" \
	-addext "subjectKeyIdentifier=hash" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1"

cd "$DIR"
chmod 644 ca.pem ca.key server.pem server.key wrong-host.pem wrong-host.key \
	self-signed.pem self-signed.key
