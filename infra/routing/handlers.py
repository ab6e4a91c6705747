"""Handlers as Lambda runs them: each function's module loaded once from its CodeUri, called with its own
environment and a Lambda context, one invocation of a function at a time."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from infra import dynamodb_access
from infra import template_model as tm
from infra.resources import Deployment

log = logging.getLogger("infra.local")

_module_numbers = count(1)


class HandlerUnavailable(RuntimeError):
    """The function's code is missing or failed to import; the reason was logged once."""


class LocalLambdaContext:
    """The parts of Lambda's context object handlers and Powertools use."""

    def __init__(self, function_name: str, function_arn: str, memory_mb: int, timeout_s: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Handlers:
    """Loads each function's handler once and calls it as Lambda would, with its own environment."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self._functions = {f.logical_id: f for f in deployment.template.functions}
        self._loaded: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self._unavailable: dict[str, str] = {}
        self._modules: list[str] = []
        self._load_lock = threading.Lock()
        self._env_lock = threading.RLock()
        # Each invocation's DynamoDB requests are checked against its function's grants, as IAM would.
        self.access = dynamodb_access.Enforcer(deployment)
        dynamodb_access.install()
        # One warm instance per function, as a Lambda function with reserved concurrency 1: a handler's module
        # state (Powertools keeps the current event, route arguments and Lambda context on the resolver class)
        # belongs to one invocation at a time. Different functions still run in parallel.
        self._instance_locks = {name: threading.Lock() for name in self._functions}
        environments: dict[str, dict[str, str]] = {}
        for name, function in self._functions.items():
            try:
                if function.condition is None or deployment.condition(function.condition):
                    environments[name] = deployment.environment(function)
                    level = os.environ.get("CERTWRIGHT_FUNCTION_LOG_LEVEL")
                    if level:  # e.g. WARNING, so `make demo` shows the router's one line per delivery only
                        environments[name]["POWERTOOLS_LOG_LEVEL"] = level
            except tm.TemplateError as err:
                self._unavailable[name] = f"environment: {err}"
                log.warning("%-26s skipped: environment: %s", name, err)
        # One process hosts every function: variables all functions agree on go into the process environment;
        # the rest are set around each call of the function that declares them (serialised by a lock).
        shared: dict[str, str] = {}
        conflicting: set[str] = set()
        for env in environments.values():
            for key, value in env.items():
                if key in shared and shared[key] != value:
                    conflicting.add(key)
                shared.setdefault(key, value)
        self.base_environment = {k: v for k, v in shared.items() if k not in conflicting}
        self._overlays = {
            name: {k: v for k, v in env.items() if self.base_environment.get(k) != v}
            for name, env in environments.items()
        }

    def function(self, logical_id: str) -> tm.Function:
        return self._functions[logical_id]

    def available(self, function: tm.Function) -> bool:
        try:
            self._handler(function)
        except HandlerUnavailable:
            return False
        return True

    def unavailable(self) -> dict[str, str]:
        return dict(self._unavailable)

    def _handler(self, function: tm.Function) -> Callable[[dict[str, Any], Any], Any]:
        with self._load_lock:
            if function.logical_id in self._loaded:
                return self._loaded[function.logical_id]
            if function.logical_id in self._unavailable:
                raise HandlerUnavailable(self._unavailable[function.logical_id])
            try:
                if function.condition is not None and not self.deployment.condition(function.condition):
                    raise HandlerUnavailable(f"condition {function.condition} is false")
                handler = self._import(function)
            except HandlerUnavailable as err:
                self._unavailable[function.logical_id] = str(err)
                log.warning("%-26s skipped: %s", function.logical_id, err)
                raise
            self._loaded[function.logical_id] = handler
            return handler

    def _import(self, function: tm.Function) -> Callable[[dict[str, Any], Any], Any]:
        path = function.handler_file
        if not path.is_file():
            raise HandlerUnavailable(f"{_shown(path)} does not exist")
        name = f"certwright_local_{function.logical_id}_{next(_module_numbers)}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise HandlerUnavailable(f"cannot load {_shown(path)}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            with self.environment_of(function):
                spec.loader.exec_module(module)
        except Exception as err:
            sys.modules.pop(name, None)
            raise HandlerUnavailable(f"importing {_shown(path)} failed: {type(err).__name__}: {err}") from err
        self._modules.append(name)
        handler = getattr(module, function.handler_attribute, None)
        if not callable(handler):
            raise HandlerUnavailable(f"{_shown(path)} has no function {function.handler_attribute}")
        return handler  # type: ignore[no-any-return]

    @contextmanager
    def environment_of(self, function: tm.Function) -> Iterator[None]:
        overlay = self._overlays.get(function.logical_id) or {}
        if not overlay:
            yield
            return
        with self._env_lock:
            previous = {k: os.environ.get(k) for k in overlay}
            os.environ.update(overlay)
            try:
                yield
            finally:
                for key, value in previous.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

    def context(self, function: tm.Function) -> LocalLambdaContext:
        return LocalLambdaContext(
            self.deployment.function_name(function),
            self.deployment.function_arn(function),
            function.memory_size,
            function.timeout,
        )

    def invoke(self, function: tm.Function, event: dict[str, Any]) -> Any:
        """Call the handler; its exceptions propagate (the caller decides what Lambda would do with them).

        Safe to call from many threads (the gateway serves each connection on its own): invocations of one
        function are serialised, so concurrent requests never see each other's event, caller or path.
        """
        handler = self._handler(function)
        with (
            self._instance_locks[function.logical_id],
            self.environment_of(function),
            self.access.acting_as(function.logical_id),
        ):
            return handler(event, self.context(function))

    def close(self) -> None:
        for name in self._modules:
            sys.modules.pop(name, None)
        self._modules.clear()


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
