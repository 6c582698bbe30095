"""Discord JSON error responses."""

from __future__ import annotations

from typing import Any

# JSON error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json).
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_ROLE = 10011
UNKNOWN_EMOJI = 10014
UNKNOWN_WEBHOOK = 10015
UNKNOWN_USER = 10013
UNKNOWN_INTERACTION = 10062
UNKNOWN_APPLICATION = 10002
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS_MESSAGE = 50005
EMPTY_MESSAGE = 50006
MISSING_PERMISSIONS = 50013
INVALID_FORM_BODY = 50035
INVALID_JSON = 50109
ALREADY_ACKNOWLEDGED = 40060
THREAD_ARCHIVED = 50083
THREAD_ALREADY_CREATED = 160004


class ApiError(Exception):
    """Raised by handlers; rendered as Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


def not_found(code: int, what: str) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def missing_permissions(names: list[str]) -> ApiError:
    return ApiError(403, MISSING_PERMISSIONS, f"Missing Permissions ({', '.join(names)})")


def invalid_form(field: str, message: str, code: str = "BASE_TYPE_INVALID") -> ApiError:
    """400 Invalid Form Body with Discord's nested error shape for one field path ("a.b.0.c")."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(field.split(".")):
        errors = {part: errors}
    return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)
