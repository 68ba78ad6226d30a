#!/bin/bash
# nvidia: the user-space driver matching the host's kernel module, no kernel module in the container
# (upstream: nvidia feature, runfile with --no-kernel-module; devices are passed by the controller as devN).
set -euo pipefail
config=${PHOENIX_GUEST_CONFIG:?}
version=$(jq -r '.nvidia_driver_version // empty' "$config")
runfile=$(jq -r '.nvidia_runfile_url // empty' "$config")
[ "$(jq -r '.gpu_assignment // "none"' "$config")" != "none" ] || { echo "no GPU assigned: nothing to do"; exit 0; }
if command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=driver_version --format=csv,noheader | grep -qx "$version"; then
    echo "driver $version already installed"; exit 0
fi
[ -n "$runfile" ] || { echo "nvidia_runfile_url is not set in the LXC file" >&2; exit 2; }
curl -fsSL -o /tmp/phoenix_run/nvidia.run "$runfile"
sh /tmp/phoenix_run/nvidia.run --silent --no-kernel-module --no-questions --ui=none
rm -f /tmp/phoenix_run/nvidia.run
nvidia-smi
