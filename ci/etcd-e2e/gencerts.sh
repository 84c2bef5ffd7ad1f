#!/usr/bin/env bash
# Certificates for etcd's e2e suite (-cert-dir), made with openssl, for when
# Debian's golang-etcd-server-dev does not ship integration/fixtures.
# ci/etcd-e2e.sh uses Debian's files when they are all there.
#   ci/etcd-e2e/gencerts.sh DIR
# What the suite needs (tests/e2e/main_test.go, cluster_test.go,
# ctl_v3_auth_test.go, cluster_proxy_test.go):
#   ca.crt                       the CA every server/client cert chains to
#   server.crt/.key.insecure     CN example.com   } each with SANs DNS:localhost
#   server2.crt/.key.insecure    CN example2.com  } and IP:127.0.0.1, usable for
#   server3.crt/.key.insecure    no CN            } server and client auth
#   server-revoked.crt/.key.insecure  CN example.com, revoked by revoke.crl
#   revoke.crl, client-nocn.revoke.crl   CRLs (signed by the CA) revoking it
#   client-nocn.crt/.key.insecure        no CN
#   CommonName-root.crt/.key     a self-signed CA with CN root, used as the
#                                client cert, its key, and the trusted CA
set -euo pipefail
out="${1:?usage: gencerts.sh DIR}"
mkdir -p "$out"
cd "$out"
subj="/C=US/ST=California/L=San Francisco/O=etcd/OU=etcd Security"
days=3650

cat >ca.cnf <<'EOF'
[ca]
default_ca = local
[local]
dir = .
database = index.txt
new_certs_dir = .
certificate = ca.crt
private_key = ca.key
default_md = sha256
default_crl_days = 3650
policy = anything
[anything]
commonName = optional
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[cnroot]
basicConstraints = CA:TRUE
keyUsage = digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement, keyCertSign
subjectAltName = DNS:example.com, DNS:*.example.com, DNS:localhost, IP:127.0.0.1
EOF
: >index.txt

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days "$days" \
  -subj "$subj/CN=ca" -config ca.cnf -extensions root

leaf() { # $1 name, $2 subject suffix ("" for no CN)
  openssl genrsa -traditional -out "$1.key.insecure" 2048 2>/dev/null ||
    openssl genrsa -out "$1.key.insecure" 2048
  openssl req -new -key "$1.key.insecure" -out "$1.csr" -subj "$subj$2"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -sha256 -extfile ca.cnf -extensions leaf -out "$1.crt"
  rm -f "$1.csr"
}
leaf server "/CN=example.com"
leaf server2 "/CN=example2.com"
leaf server3 ""
leaf server-revoked "/CN=example.com"
leaf client-nocn ""

# revoke server-revoked.crt and publish the CRL under both names
openssl ca -config ca.cnf -revoke server-revoked.crt -batch
openssl ca -config ca.cnf -gencrl -out revoke.crl -batch
cp revoke.crl client-nocn.revoke.crl

openssl req -x509 -newkey rsa:2048 -nodes -keyout CommonName-root.key -out CommonName-root.crt \
  -days "$days" -subj "/C=CN/ST=Beijing/L=Beijing/O=Demo/OU=Demo/CN=root/emailAddress=test@example.com" \
  -config ca.cnf -extensions cnroot
echo "certificates in $out"
