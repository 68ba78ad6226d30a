#!/bin/bash
# trusted_ca: trust the estate's root CA, fetched from `bootstrap_ca_url` (upstream: trusted_ca feature,
# which copied it from the Step-CA container's shared folder).
set -euo pipefail
url=$(jq -r '.bootstrap_ca_url // empty' "${PHOENIX_GUEST_CONFIG:?}")
[ -n "$url" ] || { echo "no bootstrap_ca_url: nothing to trust"; exit 0; }
curl -fsSLk -o /usr/local/share/ca-certificates/phoenix_root_ca.crt "$url"
update-ca-certificates
