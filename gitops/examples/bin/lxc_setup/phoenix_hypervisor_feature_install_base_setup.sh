#!/bin/bash
# base_setup: the essential packages and the en_US.UTF-8 locale (upstream: base_setup feature).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(curl wget vim htop jq git rsync gnupg locales ca-certificates)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
fi
sed -i 's/^# *\(en_US.UTF-8\)/\1/' /etc/locale.gen
locale-gen en_US.UTF-8 >/dev/null
update-locale LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8
