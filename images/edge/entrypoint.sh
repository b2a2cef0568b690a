#!/bin/bash
# The emulated Railway edge: make a throwaway CA and a certificate for *.up.railway.app (the name of Railway's
# default certificate, railwayapp/docs networking/troubleshooting/ssl.md:213), write nginx.conf from EDGE_ROUTES
# ("domain=host:port,domain=host:port"), and run nginx in the foreground. Everything it writes goes to /tmp/edge
# (a tmpfs): the root filesystem stays read-only and no key outlives the container.
set -euo pipefail
: "${EDGE_ROUTES:?EDGE_ROUTES must name at least one domain=host:port}"
D=/tmp/edge
mkdir -p "$D/certs" "$D/tmp"
umask 077

# --- certificates: an ECDSA P-256 CA and leaf (Railway issues ECDSA certificates: specs-and-limits.md:44) -------
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 2 \
  -subj "/CN=topo emulated Railway edge CA" -keyout "$D/certs/ca.key" -out "$D/certs/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj "/CN=*.up.railway.app" \
  -keyout "$D/certs/edge.key" -out "$D/certs/edge.csr" 2>/dev/null
cat > "$D/certs/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:*.up.railway.app
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EXT
openssl x509 -req -in "$D/certs/edge.csr" -CA "$D/certs/ca.pem" -CAkey "$D/certs/ca.key" -CAcreateserial \
  -days 2 -extfile "$D/certs/ext.cnf" -out "$D/certs/edge.pem" 2>/dev/null
cat "$D/certs/edge.pem" "$D/certs/ca.pem" > "$D/certs/chain.pem"
rm -f "$D/certs/ca.key" "$D/certs/edge.csr"
chmod 0644 "$D/certs/ca.pem"   # public: clients (tests) trust it with `docker exec ... cat /tmp/edge/certs/ca.pem`

# --- nginx.conf ------------------------------------------------------------------------------------------------
servers=""
IFS=',' read -ra routes <<< "$EDGE_ROUTES"
n=0
for route in "${routes[@]}"; do
  domain="${route%%=*}"; upstream="${route#*=}"; n=$((n + 1))
  servers+="
  server {   # ${domain} -> http://${upstream}
    listen 8443 ssl http2;
    listen [::]:8443 ssl http2;
    listen 8080;
    listen [::]:8080;
    server_name ${domain};
    if (\$scheme = http) { return 301 https://\$host\$request_uri; }   # specs-and-limits.md:37-38
    location / {
      set \$upstream_${n} \"${upstream}\";   # resolved per request: a redeployed container may get a new address
      proxy_pass http://\$upstream_${n};
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_set_header Connection \"\";
      proxy_set_header X-Real-IP \$remote_addr;                  # specs-and-limits.md:16
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Forwarded-For \"\";
      proxy_set_header X-Railway-Edge emulated-local;
      proxy_set_header X-Request-Start \$request_start_ms;
      proxy_set_header X-Railway-Request-Id \$request_id;
    }
  }"
done

cat > "$D/nginx.conf" <<CONF
# written by /usr/local/bin/railway-edge at start (the emulated Railway edge)
worker_processes 1;
pid $D/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log /dev/stdout;
  client_body_temp_path $D/tmp/body;
  proxy_temp_path $D/tmp/proxy;
  fastcgi_temp_path $D/tmp/fastcgi;
  uwsgi_temp_path $D/tmp/uwsgi;
  scgi_temp_path $D/tmp/scgi;
  server_tokens off;
  large_client_header_buffers 4 32k;            # approximates 32 KB combined headers (specs-and-limits.md:15)
  client_max_body_size 0;                       # no body size limit documented; only a 5 minute upload limit
  client_body_timeout 300s;                     # request bodies must finish uploading within 5 minutes
  keepalive_timeout 60s;                        # idle HTTP/1.1 connections closed after 60 s
  keepalive_requests 10000;                     # 10,000 requests per connection (specs-and-limits.md:27)
  proxy_read_timeout 300s;                      # closed after 5 minutes with no data
  proxy_send_timeout 300s;
  ssl_certificate $D/certs/chain.pem;
  ssl_certificate_key $D/certs/edge.key;
  ssl_protocols TLSv1.2 TLSv1.3;                # specs-and-limits.md:14,35
  resolver 127.0.0.11 valid=5s;                 # Docker's embedded DNS: the private network's *.railway.internal
  map \$msec \$request_start_ms { "~^(?<s>[0-9]+)\\.(?<ms>[0-9]+)\$" "\$s\$ms"; }
  server {   # any other Host: no service has this domain
    listen 8443 ssl http2 default_server;
    listen [::]:8443 ssl http2 default_server;
    listen 8080 default_server;
    listen [::]:8080 default_server;
    server_name _;
    default_type text/plain;
    return 404 "the emulated Railway edge: no service has the domain \$host\n";
  }${servers}
}
CONF
exec nginx -e stderr -c "$D/nginx.conf" -g "daemon off;"
