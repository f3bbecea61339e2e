"""The emulator alone, serving a function that is not the chat, with the chat barred from import.

``python -m tests.local_stack.bare_emulator EVENT_LOG`` bars the backend's packages (any import
of them raises), then starts the emulator with ``handlers.py``'s function (no stack: no moto,
no site, no authorizer) on a free loopback port, prints ``{"port": ...}``, and serves until its
stdin closes; then it prints ``{"barred_loaded": [...]}``, the barred modules in
``sys.modules`` (none while the boundary holds). ``emulator/test_boundary.py`` drives it with a
real WebSocket client.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Final

BARRED: Final = frozenset({"chat", "authorizer"})
"""The backend's packages: the emulator runs any ``handler(event, context)`` and knows neither."""
ROUTES: Final = frozenset({"$connect", "$disconnect", "$default", "echo"})
REPO_ROOT: Final = Path(__file__).resolve().parents[2]


class _Barred(MetaPathFinder):
    """Refuses to find the backend's packages, so importing them fails loudly."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in BARRED:
            raise ImportError(f"{fullname} is the backend's: the emulator must not import it")
        return None


def barred_loaded() -> list[str]:
    """The backend's modules this interpreter has loaded."""
    return sorted(name for name in sys.modules if name.partition(".")[0] in BARRED)


def _say(record: dict[str, object]) -> None:
    print(json.dumps(record), flush=True)  # the test reads stdout


async def _serve(event_log: Path) -> None:
    # Imported only now, after the bar is up.
    from aiohttp import web  # noqa: PLC0415

    from local_stack.emulator.lambda_runtime import FunctionSettings, LambdaRuntime  # noqa: PLC0415
    from local_stack.emulator.server import Emulator  # noqa: PLC0415
    from local_stack.emulator.settings import EmulatorSettings  # noqa: PLC0415

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    settings = EmulatorSettings(routes=ROUTES)
    runtime = LambdaRuntime(
        FunctionSettings(
            handler="tests.local_stack.handlers.handler",
            code_dir=REPO_ROOT,
            environment={
                "EVENT_LOG": str(event_log),
                "CONNECTIONS_ENDPOINT": f"http://127.0.0.1:{port}/{settings.stage}",
            },
            timeout_s=10.0,
        )
    )
    runner = web.AppRunner(Emulator(settings, runtime.invoke).application(), access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, listener).start()
        _say({"port": port})
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runtime.close()
        await runner.cleanup()
        listener.close()


def main(argv: list[str]) -> int:
    """Serve until stdin closes; report the barred modules loaded meanwhile."""
    sys.meta_path.insert(0, _Barred())
    asyncio.run(_serve(Path(argv[0])))
    _say({"barred_loaded": barred_loaded()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
