"""Remember-me secrets in the system keyring (the ``keyring`` library) — never in files or logs.

Machines without a usable keyring (a headless server, a container) are common: :meth:`available` says
so with a reason, and every call degrades to "nothing remembered" instead of failing the login.

A keyring that keeps secrets in a plain file (keyrings.alt's ``PlaintextKeyring``, base64 in a file anyone
who reads the home folder can decode) counts as no keyring unless the user opts in with
``allow_plaintext_keyring = true`` in config.toml: remember-me must not quietly write passwords to disk.

``keyring`` is imported on first use, not with this module: importing it and finding the system's backend
costs tens of milliseconds (more with a D-Bus keyring), which the login screen does after it is drawn.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keyring.backend

SERVICE = "cti-tui"
NO_KEYRING = "no system keyring: remember me is off"  # (one line on the form: nothing below moves)
PLAINTEXT_REFUSED = "plain-file keyring not used: remember me is off"
PLAINTEXT_MODULES = ("keyrings.alt.",)
"""Where the plain-file backends live. keyrings.alt's own README calls its backends "less secure" and meant
for tests; its EncryptedKeyring would also ask for its password on the terminal, under a full-screen app."""


def in_plain_file(backend: keyring.backend.KeyringBackend) -> bool:
    """Whether ``backend`` keeps secrets in a file of its own rather than the system's secret store."""
    return type(backend).__module__.startswith(PLAINTEXT_MODULES)


def _keyring_errors() -> type[Exception]:
    import keyring.errors

    return keyring.errors.KeyringError


class CredentialStore:
    def __init__(self, backend: keyring.backend.KeyringBackend | None = None, *, allow_plaintext: bool = False) -> None:
        self._backend = backend
        self.allow_plaintext = allow_plaintext

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        """The keyring secrets go to. From a chain of several, plain-file ones are left out (unless allowed):
        the chain would fall back to them whenever the system's store refuses a secret."""
        backend = self._backend
        if backend is None:
            import keyring

            backend = keyring.get_keyring()
        chained = getattr(backend, "backends", None)
        if isinstance(chained, list) and not self.allow_plaintext and any(map(in_plain_file, chained)):
            kept = [b for b in chained if not in_plain_file(b)]
            return kept[0] if kept else chained[0]
        return backend

    def available(self) -> tuple[bool, str]:
        """Can secrets be stored here? ``(False, reason)`` when there is no usable keyring."""
        backend = self.backend
        if backend.priority <= 0 or type(backend).__module__.startswith(
            ("keyring.backends.fail", "keyring.backends.null")
        ):
            return False, NO_KEYRING
        if in_plain_file(backend) and not self.allow_plaintext:
            return False, PLAINTEXT_REFUSED
        return True, f"stored in {getattr(backend, 'name', type(backend).__name__)}"

    @staticmethod
    def account(email: str | None, *, api_key: bool) -> str:
        return f"api-key:{email or 'default'}" if api_key else f"password:{email}"

    def load(self, account: str) -> str | None:
        if not self.available()[0]:
            return None
        try:
            return self.backend.get_password(SERVICE, account)
        except _keyring_errors():
            return None

    def save(self, account: str, secret: str) -> str | None:
        """Store ``secret``; returns a problem to show the user, or None on success."""
        ok, reason = self.available()
        if not ok:
            return reason
        try:
            self.backend.set_password(SERVICE, account, secret)
        except _keyring_errors() as exc:
            return f"could not remember the secret: {exc}"
        return None

    def forget(self, account: str) -> None:
        if not self.available()[0]:
            return
        with contextlib.suppress(_keyring_errors()):
            self.backend.delete_password(SERVICE, account)


def _memory_keyring() -> type[Any]:
    import keyring.backend

    class MemoryKeyring(keyring.backend.KeyringBackend):
        """A keyring in a dict: remember-me for tests, demos and screenshots without the machine's keyring."""

        priority = 1
        viable = False  # only where it is passed in: never the system keyring keyring picks by itself

        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]  # (keyring leaves KeyringBackend.__init__ unannotated)
            self.secrets: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.secrets.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.secrets[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.secrets.pop((service, username), None)

    MemoryKeyring.__module__, MemoryKeyring.__qualname__ = __name__, "MemoryKeyring"
    return MemoryKeyring


def __getattr__(name: str) -> Any:
    """``MemoryKeyring`` is built on first use, so that importing this module does not import ``keyring``."""
    if name == "MemoryKeyring":
        cls = globals()["MemoryKeyring"] = _memory_keyring()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
