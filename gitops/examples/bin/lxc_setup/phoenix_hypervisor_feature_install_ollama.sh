#!/bin/bash
# ollama: Ollama as a service listening on all addresses (upstream: ollama feature).
set -euo pipefail
command -v ollama >/dev/null || curl -fsSL https://ollama.com/install.sh | sh
mkdir -p /etc/systemd/system/ollama.service.d
printf '[Service]\nEnvironment="OLLAMA_HOST=0.0.0.0"\n' > /etc/systemd/system/ollama.service.d/phoenix.conf
systemctl daemon-reload
systemctl enable --now ollama
systemctl restart ollama
