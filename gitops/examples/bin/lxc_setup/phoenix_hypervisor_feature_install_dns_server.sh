#!/bin/bash
# dns_server: dnsmasq answering for the estate, upstream's internal DNS container.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
dpkg -s dnsmasq >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q dnsmasq; }
printf 'domain-needed\nbogus-priv\nno-resolv\nserver=1.1.1.1\nlisten-address=0.0.0.0\n' > /etc/dnsmasq.d/phoenix.conf
systemctl enable --now dnsmasq
systemctl restart dnsmasq
