"""Discord's published OpenAPI document (specs/openapi.json) enforced on every REST request and answer.

A request is checked before the emulator handles it: the route must exist for that method, path and query
parameters must have their documented form, and the JSON body (or a multipart request's payload_json) must
validate against the operation's request schema. A request that fails gets what Discord answers (404 for a
route Discord lacks, 400 Invalid Form Body naming the field) and is recorded in `violations`, which the test
fixtures assert empty. The emulator's own answer is then validated against the documented response for its
status, so the emulator cannot drift from what Discord sends.

The document is loaded once per process and each schema is compiled on first use, then cached.
Known gaps of the document are patched in one place: spec_exceptions.py.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from .errors import INVALID_FORM_BODY, INVALID_JSON, ApiError
from .rest import API, Handler, read_body
from .spec_exceptions import apply_all

_log = logging.getLogger(__name__)

JSON = dict[str, Any]
SPEC_PATH = Path(__file__).parent / "specs" / "openapi.json"
SPEC_URI = "urn:discord-api-spec:openapi.json"
_METHODS = ("get", "put", "post", "patch", "delete")
_JSON_SCHEMA = "/content/application~1json/schema"


@dataclass(frozen=True)
class Violation:
    """One departure from the contract: by the client's request or by the emulator's answer."""

    side: str  # "request" (the client sent it) or "response" (the emulator answered it)
    route: str  # "POST /channels/{channel_id}/messages", or the concrete path when no route matches
    field: str  # dotted path of the failing value ("embeds.0.title"), "" for the route or the whole body
    detail: str  # what Discord says of it ("Must be 256 or fewer in length.")
    code: str = "BASE_TYPE_INVALID"
    got: str = ""  # the offending value, shortened

    def __str__(self) -> str:
        where = f" field {self.field}" if self.field else ""
        got = f" (got {self.got})" if self.got else ""
        return f"{self.side} {self.route}{where}: {self.detail}{got}"


def _pointer(base: str, *parts: str) -> str:
    """base (already a JSON pointer, "" for the root) extended by parts, escaped."""
    return base + "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class Operation:
    method: str
    template: str
    segments: tuple[str, ...]
    pointer: str  # JSON pointer of the operation object in the document
    definition: JSON
    parameters: dict[tuple[str, str], tuple[JSON, str]]  # (location, name) -> (parameter, pointer of its schema)

    @property
    def route(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def literal_count(self) -> int:
        return sum(not s.startswith("{") for s in self.segments)


# The document's "uri" and "date-time" formats are asserted (JSON Schema only annotates them by default):
# Discord refuses an embed URL that is not a URL, and sends every timestamp as RFC 3339 with an offset.
FORMATS = FormatChecker(formats=())
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f]*$")


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


_REMEMBERED: dict[tuple[str, str], bool] = {}
_REMEMBERED_CAP = 200_000


def _remembered_ref(validator: Any, ref: str, instance: Any, schema: JSON) -> Iterator[ValidationError]:
    """$ref that remembers whether a (schema, value) pair was valid: the same users, command options and embeds
    come back in request after request, and each oneOf tries every branch, which is slow to redo in Python.
    Only for yes/no answers: a failure is reported by a plain validator (see Spec.errors)."""
    if not isinstance(instance, dict | list):
        yield from _check_ref(validator, ref, instance, schema)
        return
    key = (ref, json.dumps(instance, sort_keys=True))
    valid = _REMEMBERED.get(key)
    if valid is None:
        valid = next(_check_ref(validator, ref, instance, schema), None) is None
        if len(_REMEMBERED) >= _REMEMBERED_CAP:
            _REMEMBERED.clear()
        _REMEMBERED[key] = valid
    if not valid:
        yield ValidationError(f"not valid under {ref}")


_check_ref = Draft202012Validator.VALIDATORS["$ref"]
_RememberingValidator = validators.extend(Draft202012Validator, {"$ref": _remembered_ref})


class Spec:
    """The document's operations, matched by method and path, with validators compiled once per schema."""

    def __init__(self, document: JSON) -> None:
        self.document = document
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(document))
        self._validators: dict[tuple[str, bool], Any] = {}
        self._by_shape: dict[tuple[str, int], list[Operation]] = {}
        for template, item in document["paths"].items():
            for method in _METHODS:
                if method in item:
                    self._add(template, method, item)
        for candidates in self._by_shape.values():
            candidates.sort(key=lambda op: -op.literal_count)  # /users/@me before /users/{user_id}

    def _add(self, template: str, method: str, item: JSON) -> None:
        definition = item[method]
        pointer = _pointer("", "paths", template, method)
        parameters: dict[tuple[str, str], tuple[JSON, str]] = {}
        for base, declared in ((_pointer("", "paths", template), item), (pointer, definition)):
            for index, p in enumerate(declared.get("parameters", [])):
                parameters[(p["in"], p["name"])] = (p, _pointer(base, "parameters", str(index), "schema"))
        segments = tuple(template.strip("/").split("/"))
        op = Operation(method.upper(), template, segments, pointer, definition, parameters)
        self._by_shape.setdefault((op.method, len(segments)), []).append(op)

    @property
    def operations(self) -> Iterator[Operation]:
        for candidates in self._by_shape.values():
            yield from candidates

    def match(self, method: str, segments: tuple[str, ...]) -> Operation | None:
        for op in self._by_shape.get((method, len(segments)), []):
            if all(t.startswith("{") or t == s for t, s in zip(op.segments, segments, strict=True)):
                return op
        return None

    def documents(self, method: str, template: str) -> bool:
        """Whether some operation covers an emulator route: its {placeholders} may stand for literals (@me)."""
        segments = tuple(template.strip("/").split("/"))
        return any(
            all(e.startswith("{") or t.startswith("{") or e == t for e, t in zip(segments, op.segments, strict=True))
            for op in self._by_shape.get((method, len(segments)), [])
        )

    def _validator(self, pointer: str, *, remembering: bool) -> Any:
        """The validator of the schema at pointer, made once; $refs resolve within the whole document."""
        key = (pointer, remembering)
        found = self._validators.get(key)
        if found is None:
            cls = _RememberingValidator if remembering else Draft202012Validator
            schema = {"$ref": f"{SPEC_URI}#{pointer}"}
            found = self._validators[key] = cls(schema, registry=self.registry, format_checker=FORMATS)
        return found

    def errors(self, pointer: str, instance: Any) -> list[ValidationError]:
        """Why instance is invalid under the schema at pointer: a quick yes/no, then the details if no."""
        if self._validator(pointer, remembering=True).is_valid(instance):
            return []
        return list(self._validator(pointer, remembering=False).iter_errors(instance))

    def resolve(self, pointer: str) -> Any:
        node: Any = self.document
        for part in pointer.lstrip("/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def response_pointer(self, op: Operation, status: int) -> str | None:
        """Pointer of the documented response for status (exact code, then 4XX-style range, then default)."""
        responses = op.definition.get("responses", {})
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in responses:
                ref = responses[key].get("$ref")
                return ref[1:] if ref else _pointer(op.pointer, "responses", key)
        return None

    def reachable_components(self, pointers: set[str]) -> set[str]:
        """Names of the component schemas the schemas at pointers refer to, directly or not."""
        seen: set[str] = set()
        stack = [self.resolve(p) for p in pointers]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref", "")
                if ref.startswith("#/components/schemas/") and ref not in seen:
                    seen.add(ref)
                    stack.append(self.resolve(ref[1:]))
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return {ref.rsplit("/", 1)[1] for ref in seen}


@functools.cache
def spec() -> Spec:
    """The vendored document with the known exceptions applied, loaded once per process."""
    return Spec(apply_all(json.loads(SPEC_PATH.read_text(encoding="utf-8"))))


@dataclass
class Usage:
    """What the contract checked in this process: the operations and the schemas (by pointer)."""

    routes: set[str] = field(default_factory=set)
    schemas: set[str] = field(default_factory=set)
    checks: int = 0
    seconds: float = 0.0  # spent checking, loading and compiling included

    def summary(self) -> str:
        kinds = {"request bodies": "/requestBody/", "parameters": "/parameters/"}
        counts = {kind: sum(part in p for p in self.schemas) for kind, part in kinds.items()}
        counts["responses (by status)"] = len(self.schemas) - sum(counts.values())
        named = spec().reachable_components(self.schemas)
        return (
            f"contract: {len(self.routes)} routes (method + path template) and {len(self.schemas)} schemas "
            f"({', '.join(f'{n} {kind}' for kind, n in counts.items())}; {len(named)} component schemas reachable) "
            f"checked in {self.checks} requests, {self.seconds:.2f}s spent checking"
        )


USAGE = Usage()


# ---- turning jsonschema errors into Discord's Invalid Form Body ---------------------------------------------


def _leaf(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf failures, the error of the branch meant for this shape of value."""
    while error.context:
        error = best_match(_closest_branch(error))
    return error


def _closest_branch(error: ValidationError) -> list[ValidationError]:
    """The errors of the branch that failed on details, not on the value's type or its discriminating field."""
    own = len(error.absolute_path)
    branches: dict[Any, list[ValidationError]] = {}
    for e in error.context:
        branches.setdefault(e.relative_schema_path[0], []).append(e)

    def other_shape(errors: list[ValidationError]) -> bool:
        return any(
            (e.validator == "type" and len(e.absolute_path) == own)
            or (e.validator in ("const", "enum") and len(e.absolute_path) == own + 1)
            for e in errors
        )

    plausible = [errors for errors in branches.values() if not other_shape(errors)]
    return min(plausible, key=len) if plausible else list(error.context)


def _field(error: ValidationError, prefix: tuple[str, ...] = ()) -> tuple[str, ...]:
    path = prefix + tuple(str(p) for p in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return path + tuple(missing[:1])
    return path


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _discord_code(error: ValidationError) -> tuple[str, str]:
    """Discord's error code and message for a failed keyword."""
    rule, limit = error.validator, error.validator_value
    if rule in ("maxLength", "maxItems", "maxProperties"):
        return "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
    if rule in ("minLength", "minItems"):
        return "BASE_TYPE_MIN_LENGTH", f"Must be {limit} or more in length."
    if rule == "required":
        return "BASE_TYPE_REQUIRED", "This field is required"
    if rule == "maximum":
        return "NUMBER_TYPE_MAX", f"int value should be less than or equal to {limit}."
    if rule == "minimum":
        return "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {limit}."
    if rule in ("enum", "const", "oneOf", "anyOf"):
        return "BASE_TYPE_CHOICES", f"Value must be one of the documented choices, not {_short(error.instance)}."
    if rule == "format" and limit == "uri":
        return "URL_TYPE_INVALID_URL", "Not a well formed URL."
    if rule == "pattern" and "snowflake" in str(error.schema.get("format", "")):
        return "NUMBER_TYPE_COERCE", f'Value "{error.instance}" is not snowflake.'
    return "BASE_TYPE_INVALID", error.message if len(error.message) <= 200 else error.message[:197] + "..."


def _violations(
    side: str, route: str, errors: Iterable[ValidationError], prefix: tuple[str, ...] = ()
) -> list[Violation]:
    found = []
    for error in errors:
        leaf = _leaf(error)
        code, message = _discord_code(leaf)
        found.append(Violation(side, route, ".".join(_field(leaf, prefix)), message, code, _short(leaf.instance)))
    return found


def form_errors(violations: list[Violation]) -> JSON:
    """Discord's nested `errors` object: {"embeds": {"0": {"title": {"_errors": [{code, message}]}}}}."""
    errors: JSON = {}
    for v in violations:
        node = errors
        for part in v.field.split(".") if v.field else []:
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": v.code, "message": v.detail})
    return errors


# ---- checking requests and answers ------------------------------------------------------------------------


def _parameter_candidates(raw: str) -> list[Any]:
    """A path or query value is text; Discord reads it as the type its schema names."""
    candidates: list[Any] = [raw]
    if raw.lstrip("-").isdigit():
        candidates.append(int(raw))
    if raw.lower() in ("true", "false", "1", "0"):
        candidates.append(raw.lower() in ("true", "1"))
    return candidates


def check_parameters(op: Operation, segments: tuple[str, ...], query: Mapping[str, str]) -> list[Violation]:
    found: list[Violation] = []
    values = {t[1:-1]: s for t, s in zip(op.segments, segments, strict=True) if t.startswith("{")}
    for (location, name), (parameter, pointer) in op.parameters.items():
        raw = values.get(name) if location == "path" else query.get(name) if location == "query" else None
        if raw is None:
            if location == "query" and parameter.get("required"):
                found.append(Violation("request", op.route, name, "This field is required", "BASE_TYPE_REQUIRED"))
            continue
        USAGE.schemas.add(pointer)
        results = [spec().errors(pointer, c) for c in _parameter_candidates(raw)]
        if all(results):  # report against the most specific reading ("500" as 500: over the maximum)
            found += _violations("request", op.route, results[-1][:1], (name,))
    return found


def check_request_body(op: Operation, body: Any) -> list[Violation]:
    request_body = op.definition.get("requestBody")
    if request_body is None or body is None:
        return []
    if "application/json" not in request_body.get("content", {}):
        return [Violation("request", op.route, "", "the document defines no JSON body for this route")]
    pointer = _pointer(op.pointer, "requestBody") + _JSON_SCHEMA
    USAGE.schemas.add(pointer)
    return _violations("request", op.route, spec().errors(pointer, body))


def check_response(op: Operation, status: int, body: bytes | None) -> list[Violation]:
    pointer = spec().response_pointer(op, status)
    if pointer is None:
        return [Violation("response", op.route, "", f"status {status} is not a documented answer of this route")]
    documented = spec().resolve(pointer).get("content", {})
    if not body:
        if "application/json" in documented:
            return [Violation("response", op.route, "", f"status {status} must carry a JSON body")]
        return []
    if "application/json" not in documented:
        return [Violation("response", op.route, "", f"status {status} is documented without a body")]
    USAGE.schemas.add(pointer + _JSON_SCHEMA)
    return _violations("response", op.route, spec().errors(pointer + _JSON_SCHEMA, json.loads(body)))


def check_request(
    method: str, segments: tuple[str, ...], query: Mapping[str, str], body: Any
) -> tuple[Operation | None, list[Violation]]:
    """The documented operation and what is wrong with the request (no operation: Discord has no such route)."""
    op = spec().match(method, segments)
    if op is None:
        return None, [Violation("request", f"{method} {API}/{'/'.join(segments)}", "", "Discord has no such route")]
    USAGE.routes.add(op.route)
    return op, check_parameters(op, segments, query) + check_request_body(op, body)


def request_segments(request: web.Request) -> tuple[str, ...]:
    return tuple(unquote(s) for s in request.rel_url.raw_path[len(API) :].strip("/").split("/"))


class ContractChecker:
    """The aiohttp middleware of one emulator; `violations` lists every departure, in order."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def _record(self, found: list[Violation]) -> None:
        for v in found:
            _log.warning("emulator: contract violation: %s", v)
        self.violations += found

    def require_documented(self, router: web.UrlDispatcher) -> None:
        """An emulator route Discord does not have would let tests pass against an API that does not exist."""
        undocumented = [
            f"{route.method} {path}"
            for route in router.routes()
            if route.resource is not None
            and (path := route.resource.canonical).startswith(API + "/")
            and route.method in ("GET", "PUT", "POST", "PATCH", "DELETE")
            and not spec().documents(route.method, path[len(API) :])
        ]
        if undocumented:
            raise RuntimeError(f"emulator routes missing from Discord's API document: {undocumented}")

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API + "/"):
            return await handler(request)
        try:
            body = (await read_body(request))[0] if request.body_exists and request.method != "GET" else None
        except ValueError:
            route = f"{request.method} {request.path}"
            self._record([Violation("request", route, "", "The request body contains invalid JSON.", "INVALID_JSON")])
            return _error(ApiError(400, INVALID_JSON, "The request body contains invalid JSON."))
        started = time.perf_counter()
        op, problems = check_request(request.method, request_segments(request), request.query, body)
        USAGE.seconds += time.perf_counter() - started
        USAGE.checks += 1
        if op is None:
            self._record(problems)
            return _error(ApiError(404, 0, "404: Not Found"))
        if problems:
            self._record(problems)
            return _error(ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", form_errors(problems)))
        response = await handler(request)
        if isinstance(response, web.Response):
            started = time.perf_counter()
            self._record(check_response(op, response.status, response.body if response.body else None))
            USAGE.seconds += time.perf_counter() - started
        return response


def _error(error: ApiError) -> web.Response:
    return web.Response(body=json.dumps(error.body()).encode(), status=error.status, content_type="application/json")
