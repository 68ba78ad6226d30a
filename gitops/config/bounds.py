"""Numeric bounds of the config's fields: what PVE accepts, so a value outside is refused at validation.

Used by the field definitions of the per-file models. PVE's API schema (the one fakepve ships) gives the
minimums (memory 16 MiB, swap 0, cores 1 to 8192, VLAN 1 to 4094) but no maximum for memory or disk
sizes; PVE stores them as 64-bit integers and the kernel refuses far less. The maximums here are PVE's
own where it has one (4 TiB of memory, `MAX_MEM` of qemu-server) and otherwise the largest value a
real node can carry (1 PiB of disk), so a 10^30 typo is an error instead of a request.
"""

from __future__ import annotations

MEMORY_MB = (16, 4_194_304)  # PVE: memory >= 16 MiB; qemu-server's MAX_MEM is 4 TiB
SWAP_MB = (0, 4_194_304)
CORES = (1, 8192)  # PVE's LXC schema: cores 1..8192
DISK_GB = (1, 1_048_576)  # 1 PiB: no PVE storage of one node holds more
BOOT_ORDER = (0, 1_000_000)
BOOT_DELAY_S = (0, 3600)  # the controller waits this long between boot groups
LINUX_ID = (0, 4_294_967_294)  # uid/gid (2^32 - 2; -1 means "none")
HEALTH_TIMEOUT_S = 600.0
HEALTH_RETRIES = 100
