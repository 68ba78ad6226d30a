#!/bin/bash
# docker: Docker Engine from Docker's apt repository (upstream: docker feature; the container needs
# `pve_features: {"nesting": true, "keyctl": true}` for Docker to run unprivileged).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if command -v docker >/dev/null && systemctl is-active --quiet docker; then echo "docker already runs"; exit 0; fi
. /etc/os-release
install -m 0755 -d /etc/apt/keyrings
curl -fsSL "https://download.docker.com/linux/${ID}/gpg" -o /etc/apt/keyrings/docker.asc
echo "deb [signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/${ID} ${VERSION_CODENAME} stable" \
    > /etc/apt/sources.list.d/docker.list
apt-get update -q
apt-get install -y -q docker-ce docker-ce-cli containerd.io docker-compose-plugin
systemctl enable --now docker
