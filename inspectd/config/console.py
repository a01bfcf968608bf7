"""``console:`` — the operator's web page served by the daemon. Off unless enabled; a token is required
for any bind address other than loopback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inspectd.config.schema import setting

LOOPBACK_BINDS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_TOKEN_CHARS = 12


@dataclass(frozen=True)
class ConsoleConfig:
    enabled: bool = setting(False, doc="serve the operator console (live view, review queue, bank versions)")
    bind: str = setting("127.0.0.1", doc="address the console listens on; any other than loopback needs token_file")
    port: int = setting(8089, minimum=0, maximum=65535, doc="0 picks a free port")
    token_file: Path | None = setting(None, doc="file whose first line is the access token (or password); when set, "
                                      "every page and action needs it")
    review_size: int = setting(200, minimum=1, maximum=10_000, doc="rejected frames the review queue keeps in memory")


def read_token(path: Path) -> str:
    """The token in ``path`` (its first line, stripped); ValueError when it is too short to be one."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    token = lines[0].strip() if lines else ""
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{path} holds a token of {len(token)} characters, expected at least {MIN_TOKEN_CHARS}")
    return token


def console_problems(console: ConsoleConfig) -> list[str]:
    """Cross-checks of an enabled console: a readable token where the bind address is not loopback."""
    if not console.enabled:
        return []
    if console.token_file is None:
        if console.bind in LOOPBACK_BINDS:
            return []
        return [f"console.token_file: got none, expected a token file, since console.bind {console.bind!r} "
                f"is not loopback ({', '.join(sorted(LOOPBACK_BINDS))})"]
    try:
        read_token(console.token_file)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return [f"console.token_file: got {str(console.token_file)!r}, expected a readable token file: {error}"]
    return []
