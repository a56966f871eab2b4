# HAProxy with the mysql client its wsrep-aware external check needs (scripts/cluster/wsrep-check.sh).
FROM debian:bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends haproxy mariadb-client \
  && rm -rf /var/lib/apt/lists/*
COPY scripts/cluster/wsrep-check.sh /usr/local/bin/wsrep-check.sh
COPY scripts/cluster/compose/haproxy.cfg /etc/haproxy/haproxy.cfg
CMD ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
