#!/bin/bash
# base_setup (VM): wait for cloud-init, essential packages, the qemu guest agent kept enabled.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cloud-init status --wait >/dev/null 2>&1 || true
apt-get update -q
apt-get install -y -q curl jq git ca-certificates qemu-guest-agent
systemctl enable --now qemu-guest-agent
