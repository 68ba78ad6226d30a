"""A simulated Proxmox VE node: fakepve, plus the two PVE behaviours fakepve 0.5.0 does not model.

fakepve answers `PUT /nodes/{node}/qemu/{vmid}/resize` with success and changes nothing, and keeps
`import-from=` in a VM disk's config with size 0 instead of importing the image. Real PVE grows the
disk (and refuses to shrink it) and imports the image at its size; the controller relies on both,
so this subclass adds them, in PVE's wording. Everything else is fakepve's.

`SimulatedNode` serves one on a loopback address from a background event loop, for `phoenix-gitops
demo` and for the tests' `pve` fixture. Requires the `demo` (or `test`) extra, which brings fakepve.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from fakepve import FakePve, TaskError, settle
from fakepve.certs import make_cert
from fakepve.lxc import format_size, parse_size
from fakepve.model import PveError
from fakepve.qemu import join_drive, split_drive, volume_ref

from gitops.demo.permissions import Pve9DownloadPermission

TIMEOUT = 30


class PhoenixFakePve(Pve9DownloadPermission, FakePve):  # type: ignore[misc]
    """fakepve with VM disk resize and `import-from` disks, as PVE does them."""

    def _routes_qemu(self) -> list[tuple[str, str, Any]]:
        routes: list[tuple[str, str, Any]] = super()._routes_qemu()
        return [*routes, ("PUT", "/nodes/{node}/qemu/{vmid}/resize", self._qm_resize)]

    def _qm_new_drive(self, vmid: int, key: str, value: str, default: str | None) -> tuple[str, list[str]]:
        volume, props = split_drive(value)
        source = props.get("import-from")
        if not source:
            return super()._qm_new_drive(vmid, key, value, default)  # type: ignore[no-any-return]
        sid, name = volume_ref(source)
        image = self._volumes(sid).get(name) if sid else None
        if image is None:
            raise TaskError(f"volume '{source}' does not exist")
        rest = {k: v for k, v in props.items() if k != "import-from"}
        made_value, made = super()._qm_new_drive(vmid, key, join_drive(volume, rest), default)
        volid, final = split_drive(made_value)
        final = dict(final)
        final["size"] = format_size(int(image.get("size") or 0))
        return join_drive(volid, final), made

    async def _qm_resize(self, v: dict[str, Any], user: str) -> Any:
        vm = self.find(v["node"], v["vmid"])
        disk = v["disk"]
        text = str(v["size"])
        grow = text.startswith("+")
        request = parse_size(text.lstrip("+"))
        if request is None:
            raise PveError(400, "Parameter verification failed.", {"size": "invalid format"})
        self._check_lock(vm)

        def decide() -> tuple[str, dict[str, str], int]:
            value = vm.config.get(disk)
            if value is None:
                raise PveError(500, f"disk '{disk}' does not exist")
            volume, props = split_drive(value)
            props = dict(props)
            size = parse_size(props.get("size", "")) or 0
            new = size + request if grow else request
            if new < size:
                raise PveError(500, f"VM {vm.vmid} - shrinking disks is not supported")
            return volume, props, new

        decide()

        async def body() -> None:
            try:
                volume, props, new = decide()
            except PveError as exc:
                raise TaskError(exc.message) from exc
            props["size"] = format_size(new)
            vm.config[disk] = join_drive(volume, props)

        return await self.task(vm.node, "resize", vm.vmid, user, body, vm=vm)


class SimulatedNode:
    """A PhoenixFakePve served over HTTPS on a loopback address from its own event-loop thread."""

    def __init__(self, workdir: Path, *, host: str = "127.0.0.1", port: int = 0, password: str = "secret",
                 time_scale: float = 0.0) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        certfile, keyfile, _ = make_cert(str(workdir), hosts=(host,))
        self.cafile = str(certfile)
        self.password = password
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pve-simulator", daemon=True)
        self.thread.start()
        self.fake = PhoenixFakePve(user="root@pam", password=password, host=host, port=port)
        self.fake.time_scale = time_scale
        self.run(self.fake.start(str(certfile), str(keyfile)))

    @property
    def address(self) -> str:
        """`host:port`, as PHOENIX_PVE_HOST takes it."""
        return f"{self.fake.host}:{self.fake.port}"

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a FakePve method, running it on the server loop when it is a coroutine function."""
        value = getattr(self.fake, name)
        if inspect.iscoroutinefunction(value):
            return self.run(value(*args, **kwargs))
        return value(*args, **kwargs)

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        self.run(settle())
        self.run(self.fake.stop())
        gc.collect()
        self.run(asyncio.sleep(0.05))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()
