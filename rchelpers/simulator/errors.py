"""The simulator's exceptions: one root, :class:`SimulatorError`, and the platform's error bodies.

:class:`PlatformError` is "answer with this RingCentral error body": it carries ``errors[0]`` and mirror it at the top level (``errorCode``, ``message`` and, where
there is one, ``parameterName``), as real responses do. OAuth errors use the OAuth body
(``error``, ``error_description``, ``errors[]``).
"""
from __future__ import annotations

from typing import Any


class SimulatorError(Exception):
    """The root of every exception the simulator raises on purpose."""


class OptionError(SimulatorError, ValueError):
    """An option of ``Simulator`` (or of one of its parts) has a value it cannot use."""


class ClockError(SimulatorError, RuntimeError):
    """The clock cannot do what was asked (runaway job loop, re-entrant advance)."""


class TriggerError(SimulatorError, ValueError):
    """A sample event could not be built: unknown kind, unknown field or a value of the wrong type."""


class DeliveryError(SimulatorError, LookupError):
    """A replay could not be done (unknown attempt or uuid, or the subscription no longer receives)."""


class PlatformError(SimulatorError):
    """An error response of the platform: HTTP ``status``, RingCentral ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str, parameter_name: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.parameter_name = parameter_name
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body: top-level ``errorCode``/``message`` mirroring ``errors[0]``."""
        body: dict[str, Any] = {"errorCode": self.code, "message": self.message, "errors": [self._error_item()]}
        if self.parameter_name is not None:
            body["parameterName"] = self.parameter_name
        return body

    def _error_item(self) -> dict[str, Any]:
        """The ``errors[0]`` entry: ``errorCode``, ``message`` and ``parameterName`` when there is one."""
        item: dict[str, Any] = {"errorCode": self.code, "message": self.message}
        if self.parameter_name is not None:
            item["parameterName"] = self.parameter_name
        return item


class PermissionDeniedError(PlatformError):
    """403 CMN-401: the app lacks ``permission_name``, shown as ``permissionName`` at the top and in ``errors[0]``."""

    def __init__(self, permission_name: str, message: str) -> None:
        super().__init__(403, "CMN-401", message)
        self.permission_name = permission_name

    def body(self) -> dict[str, Any]:
        """The JSON body: ``errorCode``, ``message``, ``errors[0]`` with ``permissionName``, ``permissionName``."""
        item = {"errorCode": self.code, "message": self.message, "permissionName": self.permission_name}
        return {"errorCode": self.code, "message": self.message, "errors": [item],
                "permissionName": self.permission_name}


class TokenInvalidError(PlatformError):
    """401 for an unknown, revoked or garbled access token: top-level ``errorCode`` ``"TokenInvalid"`` and
    OAU-149 in ``errors[0]``, both with ``OAuth token is invalid`` (as the live platform answers)."""

    SYMBOL = "TokenInvalid"

    def __init__(self) -> None:
        super().__init__(401, "OAU-149", "OAuth token is invalid")

    def body(self) -> dict[str, Any]:
        """The JSON body: the symbolic code at the top, the dotted one in ``errors[0]``."""
        return {"errorCode": self.SYMBOL, "message": self.message,
                "errors": [{"errorCode": self.code, "message": self.message}]}


class OAuthError(PlatformError):
    """An error of ``/restapi/oauth/*``: ``error`` (RFC 6749 code) plus RingCentral's ``errors[]``."""

    def __init__(self, status: int, error: str, code: str, message: str,
                 parameter_name: str | None = None) -> None:
        super().__init__(status, code, message, parameter_name)
        self.error = error

    def body(self) -> dict[str, Any]:
        """The JSON body: ``error``, ``error_description`` and ``errors[]``."""
        return {"error": self.error, "error_description": self.message, "errors": [self._error_item()]}


# --- the common API errors ----------------------------------------------------------------------
def missing_parameter(name: str) -> PlatformError:
    """400 CMN-100 for a required field that is absent (wording chosen by the simulator)."""
    return PlatformError(400, "CMN-100", f"Parameter [{name}] is required", name)


def invalid_parameter(name: str, detail: str = "", status: int = 400) -> PlatformError:
    """400 CMN-101 ``Parameter [name] value is invalid`` (``detail`` appended after a colon)."""
    message = f"Parameter [{name}] value is invalid"
    if detail:
        message += f": {detail}"
    return PlatformError(status, "CMN-101", message, name)


def not_found(name: str) -> PlatformError:
    """404 CMN-102 ``Resource for parameter [name] is not found``."""
    return PlatformError(404, "CMN-102", f"Resource for parameter [{name}] is not found", name)


def bad_json() -> PlatformError:
    """400 CMN-103 for a body that is not JSON."""
    return PlatformError(400, "CMN-103", "JSON can't be parsed.")


def cannot_parse(detail: str = "") -> PlatformError:
    """400 CMN-104 ``Cannot parse request`` (for a body of the wrong shape)."""
    return PlatformError(400, "CMN-104", "Cannot parse request" + (f": {detail}" if detail else ""))


def unknown_route(path: str) -> PlatformError:
    """404 CMN-120 ``Invalid URI`` for a path the platform does not serve."""
    return PlatformError(404, "CMN-120", f"Invalid URI [{path}]")


def method_not_allowed(method: str, allowed: list[str]) -> PlatformError:
    """405 for a known path called with another method (``Allow`` header lists the right ones)."""
    return PlatformError(405, "CMN-202", f"Operation is not supported: method [{method}] is not allowed here",
                    headers={"Allow": ", ".join(allowed)})


def body_too_large(limit: int) -> PlatformError:
    """413 for a request body above the simulator's limit."""
    return PlatformError(413, "CMN-104", f"Cannot parse request: body larger than {limit} bytes")


def rate_exceeded(retry_after: int, headers: dict[str, str]) -> PlatformError:
    """429 CMN-301 ``Request rate exceeded`` with ``Retry-After``."""
    return PlatformError(429, "CMN-301", "Request rate exceeded", headers={**headers, "Retry-After": str(retry_after)})


def unauthorized(code: str, message: str) -> PlatformError:
    """401 for an API call without a valid access token."""
    return PlatformError(401, code, message)
