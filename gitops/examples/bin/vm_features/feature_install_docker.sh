#!/bin/bash
# docker (VM): Docker Engine, and the VM's user (`user_config.username`) in the docker group
# (upstream: vm_features docker, which read the same field from its vm_context.json).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
user=$(jq -r '.user_config.username // empty' "${PHOENIX_GUEST_CONFIG:?}")
if ! command -v docker >/dev/null; then
    . /etc/os-release
    install -m 0755 -d /etc/apt/keyrings
    curl -fsSL "https://download.docker.com/linux/${ID}/gpg" -o /etc/apt/keyrings/docker.asc
    echo "deb [signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/${ID} ${VERSION_CODENAME} stable" \
        > /etc/apt/sources.list.d/docker.list
    apt-get update -q
    apt-get install -y -q docker-ce docker-ce-cli containerd.io docker-compose-plugin
fi
systemctl enable --now docker
[ -z "$user" ] || usermod -aG docker "$user"
