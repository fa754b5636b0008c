"""Asking AWS: the clients of a stack's region and profile, and one way to call them that turns
every failure into an `AwsCallError` naming the call (as IAM names it), what AWS said and the fix.
Preflight's AWS checks (`stacks.preflight.aws`, `stacks.preflight.aws_cache`) ask through here."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoAuthTokenError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from stacks.config.aws import AwsConfig
from stacks.ops.report import Finding

if TYPE_CHECKING:
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_efs import EFSClient
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_fsx import FSxClient
    from mypy_boto3_service_quotas import ServiceQuotasClient
    from mypy_boto3_sts import STSClient

# Error codes by what fixes them. Permission: each service's "not allowed"; credentials: AWS did not
# accept who asked; throttled: asked too often.
_PERMISSION_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                               "UnauthorizedAccess"})
_CREDENTIAL_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
                               "UnrecognizedClientException", "AuthFailure", "SignatureDoesNotMatch",
                               "IncompleteSignature", "MissingAuthenticationToken", "RequestExpired"})
_THROTTLED_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded",
                              "TooManyRequestsException"})
_CREDENTIAL_ERRORS = (NoCredentialsError, PartialCredentialsError, TokenRetrievalError, SSOError,
                      CredentialRetrievalError, NoAuthTokenError)
_CREDENTIALS_FIX = ("configure credentials (environment, shared config, SSO or an instance role), or refresh "
                    "expired ones (aws sso login); dynamo-cluster:aws.profile names a profile to use")
# The AWS CLI's name of a service, where it differs from the IAM prefix.
_CLI_SERVICE = {"servicequotas": "service-quotas", "elasticfilesystem": "efs"}

T = TypeVar("T")


# Each AWS call's bounds (seconds, attempts): preflight asks a few dozen read-only calls.
CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 5, 15, 3


@dataclass(frozen=True)
class AwsClients:
    sts: STSClient
    eks: EKSClient
    ec2: EC2Client
    quotas: ServiceQuotasClient
    fsx: FSxClient
    efs: EFSClient
    acm: ACMClient | None = None  # asked only for the certificates of load balancer endpoints


def connect(aws: AwsConfig) -> AwsClients:
    """Clients for the stack's region (and profile), with the standard credential chain."""
    import boto3
    session = boto3.Session(region_name=aws.region, profile_name=aws.profile)

    def client(name: str) -> Any:
        return bounded_client(session, name)

    return AwsClients(sts=client("sts"), eks=client("eks"), ec2=client("ec2"), quotas=client("service-quotas"),
                      fsx=client("fsx"), efs=client("efs"), acm=client("acm"))


# The longest wait a Retry-After may ask for before a retry.
MAX_RETRY_AFTER = 20.0


def _honour_retry_after(response: Any = None, attempts: int = 0, **_: Any) -> float | None:
    """A throttled or unavailable answer (429, 503) that says when to come back is retried then (at
    most `MAX_RETRY_AFTER` seconds later, within `ATTEMPTS`); anything else is left to botocore."""
    if response is None or attempts >= ATTEMPTS:
        return None
    http = response[0]
    if getattr(http, "status_code", 0) not in (429, 503):
        return None
    try:
        delay = float(http.headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
    return min(max(delay, 0.0), MAX_RETRY_AFTER)


def bounded_client(session: Any, name: str, *, endpoint_url: str | None = None,
                   read_timeout: float = READ_TIMEOUT) -> Any:
    """A client whose calls are bounded: a call that never answers fails after its timeouts and
    `ATTEMPTS` attempts (standard retry mode, which backs off on throttling and 5xx) instead of after
    botocore's 60-second read timeout, and a Retry-After is honoured (`_honour_retry_after`)."""
    from botocore.config import Config

    config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=read_timeout,
                    retries={"mode": "standard", "total_max_attempts": ATTEMPTS})
    client = session.client(name, config=config, endpoint_url=endpoint_url)
    # on the service's own event, ahead of the standard retry handler registered there
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"needs-retry.{service}", _honour_retry_after)
    return client


def _error_code(error: Exception) -> str:
    if isinstance(error, DeadlineError):
        return "the run's deadline"
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    if isinstance(error, ResponseParserError | AnswerError):
        return "an unreadable answer"
    return type(error).__name__


@dataclass(frozen=True)
class Caller:
    """Who asks AWS, and where: what the fix of a refused or unreachable call names."""

    region: str
    arn: str = ""  # the identity GetCallerIdentity returned; "" before it answered
    profile: str | None = None


class AnswerError(Exception):
    """An answer that does not hold what AWS documents (a field missing or of another kind)."""


class DeadlineError(Exception):
    """The run's time was up before this call (`run_deadline`)."""


@dataclass
class _Run:
    """The current run: when it must end (time.monotonic()), and whether each call is printed."""

    deadline: float = float("inf")
    progress: bool = False


_RUN = _Run()


@contextmanager
def run_deadline(seconds: float, *, progress: bool | None = None) -> Iterator[None]:
    """Every `ask` inside fails fast once `seconds` have passed: a run that meets unanswering endpoints
    ends in bounded time with what it checked. `progress`: print each call as it starts (default: when
    standard error is a terminal)."""
    before = (_RUN.deadline, _RUN.progress)
    _RUN.deadline = time.monotonic() + seconds
    _RUN.progress = sys.stderr.isatty() if progress is None else progress
    try:
        yield
    finally:
        _RUN.deadline, _RUN.progress = before


class AwsCallError(Exception):
    """An AWS call that did not answer: refused, throttled, unreachable, or without usable credentials.
    `call` is the API call as IAM names it (``ec2:DescribeSubnets``): also the permission it needs."""

    def __init__(self, call: str,
                 error: ClientError | BotoCoreError | ResponseParserError | AnswerError | DeadlineError) -> None:
        super().__init__(f"{call} failed with {_error_code(error)}")
        self.call = call
        self.error = error

    @property
    def code(self) -> str:
        return _error_code(self.error)

    @property
    def server_error(self) -> bool:
        """AWS's side failed (HTTP 5xx), after botocore's retries."""
        if not isinstance(self.error, ClientError):
            return False
        status = self.error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return isinstance(status, int) and status >= 500

    def describe(self) -> str:
        """``ec2:DescribeSubnets failed with UnauthorizedOperation: <what AWS said>``."""
        if isinstance(self.error, ClientError):
            said = str(self.error.response.get("Error", {}).get("Message", ""))
        else:
            said = str(self.error)
        said = said.strip().splitlines()[0] if said.strip() else ""
        return f"{self.call} failed with {self.code}" + (f": {said}" if said else "")

    def fix(self, caller: Caller) -> str:
        service, _, action = self.call.partition(":")
        if isinstance(self.error, DeadlineError):
            text = (f"AWS answered too slowly for every check to run ({self.error}): check the network to AWS's "
                    f"endpoints for {caller.region} (a proxy that holds requests, a VPC endpoint), then run "
                    "preflight again")
        elif isinstance(self.error, ResponseParserError | AnswerError):
            text = (f"the answer to {self.call} could not be read: check that nothing between here and AWS (a proxy, "
                    f"a firewall's page, a custom endpoint) answers instead of it, then run preflight again")
        elif isinstance(self.error, ProfileNotFound) and caller.profile is not None:
            text = (f"add profile {caller.profile} to the shared AWS config (aws configure --profile "
                    f"{caller.profile}), or unset dynamo-cluster:aws.profile")
        elif not action:  # not an API call: the session, from the environment and the shared config files
            text = ("correct what the error names (the shared AWS config and credentials files, AWS_* environment "
                    "variables), then run preflight again")
        elif isinstance(self.error, _CREDENTIAL_ERRORS) or self.code in _CREDENTIAL_CODES:
            text = _CREDENTIALS_FIX
        elif isinstance(self.error, BotoConnectionError | HTTPClientError):
            text = (f"make AWS's {service} endpoint for dynamo-cluster:aws.region reachable from here (network, "
                    f"proxy settings, or a VPC endpoint); check aws.region is {caller.region}")
        elif self.code in _PERMISSION_CODES:
            who = f" ({caller.arn})" if caller.arn else ""
            text = f"allow {self.call} (a read-only call) in an IAM policy of the identity preflight runs as{who}"
        elif self.code in _THROTTLED_CODES:
            text = f"AWS throttled {self.call}: run preflight again in a minute"
        elif self.server_error:
            text = (f"AWS answered {self.call} with a server error: run preflight again in a few minutes; if it "
                    f"persists, see the AWS Health Dashboard for {service} in {caller.region}")
        else:
            command = re.sub(r"(?<!^)(?=[A-Z])", "-", action).lower()
            text = (f"fix what AWS says and run preflight again (the same read-only call: aws "
                    f"{_CLI_SERVICE.get(service, service)} {command})")
        return text


def ask(call: str, request: Callable[[], T]) -> T:
    """`request()`'s answer; any AWS or botocore error, and an answer botocore cannot parse (not XML or
    JSON, not UTF-8), raises `AwsCallError` naming `call`."""
    if time.monotonic() > _RUN.deadline:
        raise AwsCallError(call, DeadlineError("not asked: the run's time was up")) from None
    if _RUN.progress:
        print(f"aws: {call} ...", file=sys.stderr, flush=True)
    try:
        return request()
    except (ClientError, BotoCoreError, ResponseParserError) as error:
        raise AwsCallError(call, error) from None
    except UnicodeError:
        raise AwsCallError(call, AnswerError("the answer is not UTF-8 text")) from None


def need_list(call: str, answer: Any, *path: str | int) -> list[Any]:
    """`need(...)` of a field that must be a list (of objects: each item a map)."""
    value = need(call, answer, *path)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise AwsCallError(call, AnswerError(f"the answer's {path[-1]} is not a list of objects"))
    return value


def need(call: str, answer: Any, *path: str | int) -> Any:
    """`answer[path[0]][path[1]]...`, or `AwsCallError` naming the field the answer lacks."""
    value = answer
    for i, key in enumerate(path):
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            shown = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path[:i + 1]).lstrip(".")
            raise AwsCallError(call, AnswerError(f"the answer has no {shown}")) from None
    if value is None:
        raise AwsCallError(call, AnswerError(f"the answer's {path[-1]} is empty"))
    return value


def shown(value: Any) -> str:
    """A field of an answer as a message shows it: never "None"."""
    return "(not in AWS's answer)" if value is None or value == "" else str(value)


def not_checked(name: str, failure: AwsCallError, caller: Caller) -> Finding:
    return Finding.failed(name, f"not checked: {failure.describe()}", failure.fix(caller))
