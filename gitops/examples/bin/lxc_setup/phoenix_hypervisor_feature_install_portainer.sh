#!/bin/bash
# portainer: the Portainer server or agent by `portainer_role` (upstream: portainer feature; needs docker).
set -euo pipefail
role=$(jq -r '.portainer_role // "none"' "${PHOENIX_GUEST_CONFIG:?}")
case "$role" in
    primary) docker volume create portainer_data >/dev/null
             docker inspect portainer >/dev/null 2>&1 || docker run -d --name portainer --restart=always \
                 -p 9443:9443 -v /var/run/docker.sock:/var/run/docker.sock -v portainer_data:/data portainer/portainer-ce ;;
    agent)   docker inspect portainer_agent >/dev/null 2>&1 || docker run -d --name portainer_agent --restart=always \
                 -p 9001:9001 -v /var/run/docker.sock:/var/run/docker.sock \
                 -v /var/lib/docker/volumes:/var/lib/docker/volumes portainer/agent ;;
    *)       echo "portainer_role is $role: nothing to do" ;;
esac
