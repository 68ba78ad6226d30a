#!/bin/bash
# vllm: vLLM in a virtualenv under /opt/vllm, the model and engine arguments from
# `vllm_engine_config` (upstream: vllm feature and the vLLM application script).
set -euo pipefail
config=${PHOENIX_GUEST_CONFIG:?}
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q python3-venv
[ -x /opt/vllm/bin/vllm ] || { python3 -m venv /opt/vllm && /opt/vllm/bin/pip install -q vllm; }
model=$(jq -r '.vllm_engine_config.ModelConfig.model // empty' "$config")
[ -n "$model" ] || { echo "vllm_engine_config.ModelConfig.model is not set: vLLM installed, no service"; exit 0; }
port=$(jq -r '.vllm_engine_config.ServerConfig.port // 8000' "$config")
args=$(jq -r '[.vllm_engine_config.CacheConfig, .vllm_engine_config.ParallelConfig] | add // {}
              | to_entries[] | "--\(.key | gsub("_"; "-")) \(.value)"' "$config" | tr '\n' ' ')
cat > /etc/systemd/system/vllm.service <<UNIT
[Unit]
Description=vLLM serving ${model}
After=network-online.target
[Service]
ExecStart=/opt/vllm/bin/vllm serve ${model} --host 0.0.0.0 --port ${port} ${args}
Restart=on-failure
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now vllm
systemctl restart vllm
