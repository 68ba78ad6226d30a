#!/bin/bash
# step_ca: a Smallstep CA whose root lands in the bind-mounted /etc/step-ca/ssl for the other guests
# (upstream: step_ca feature). The CA password comes from the config as a ${secret:...} reference.
set -euo pipefail
[ -x /usr/bin/step-ca ] || {
    curl -fsSL -o /tmp/phoenix_run/step.deb https://dl.smallstep.com/cli/docs-ca-install/latest/step-cli_amd64.deb
    curl -fsSL -o /tmp/phoenix_run/step-ca.deb https://dl.smallstep.com/certificates/docs-ca-install/latest/step-ca_amd64.deb
    dpkg -i /tmp/phoenix_run/step.deb /tmp/phoenix_run/step-ca.deb
}
mkdir -p /etc/step-ca/ssl
[ -f /root/.step/config/ca.json ] || echo "initialise the CA with 'step ca init' (password from your secrets)"
[ ! -f /root/.step/certs/root_ca.crt ] || cp /root/.step/certs/root_ca.crt /etc/step-ca/ssl/phoenix_root_ca.crt
