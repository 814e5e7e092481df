"""x402 top-ups through the pinned `x402` package: the 402 quote, reading the client's payment,
and verifying and settling it with the configured facilitator.

The package's `x402ResourceServerSync` builds the payment requirements (scheme `exact`, USDC
on the configured Base chain, EIP-712 domain in `extra`), matches a payment against them and
calls the facilitator, so the wire format is exactly the package's (x402 v2: the
`PAYMENT-REQUIRED` response header, the client's `PAYMENT-SIGNATURE` header - `X-PAYMENT`,
the v1 name, is read too - and the `PAYMENT-RESPONSE` settlement header).

Quoting needs no facilitator: the supported kind (exact on our one network) is known
locally. Verifying and settling need `GVNR_X402_FACILITATOR_URL`; without it a payment
answers 503 misconfigured_network.
"""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass

from x402.http import FacilitatorConfig, HTTPFacilitatorClientSync
from x402.http.constants import (
    PAYMENT_REQUIRED_HEADER,
    PAYMENT_RESPONSE_HEADER,
    PAYMENT_SIGNATURE_HEADER,
    X_PAYMENT_HEADER,
)
from x402.http.facilitator_client_base import CreateHeadersAuthProvider
from x402.http.utils import (
    decode_payment_signature_header,
    encode_payment_required_header,
    encode_payment_response_header,
)
from x402.mechanisms.evm.exact import ExactEvmServerScheme
from x402.schemas import (
    PaymentPayload,
    PaymentRequired,
    PaymentRequirements,
    ResourceConfig,
    ResourceInfo,
    SettleResponse,
    SupportedKind,
    SupportedResponse,
    VerifyResponse,
)
from x402.server import x402ResourceServerSync

from handlers.gvnr import billing
from server.errors import ApiError
from server.settings import Settings


class FacilitatorError(Exception):
    """The facilitator could not be reached or gave no usable answer."""


class _Facilitator:
    """A FacilitatorClientSync whose supported kinds are known locally (so quotes work with no
    facilitator at all) and whose verify/settle go to the configured facilitator over HTTP."""

    def __init__(self, network: str, url: str, token: str, timeout: float) -> None:
        self._kinds = SupportedResponse(kinds=[SupportedKind(x402_version=2, scheme="exact", network=network)])
        self._http: HTTPFacilitatorClientSync | None = None
        if url:
            auth = None
            if token:
                headers = {"Authorization": f"Bearer {token}"}
                auth = CreateHeadersAuthProvider(lambda: {"verify": headers, "settle": headers, "supported": headers})
            self._http = HTTPFacilitatorClientSync(FacilitatorConfig(url=url, timeout=timeout, auth_provider=auth))

    @property
    def configured(self) -> bool:
        return self._http is not None

    def get_supported(self) -> SupportedResponse:
        return self._kinds

    def verify(self, payload: t.Any, requirements: t.Any) -> VerifyResponse:
        return self._call("verify", payload, requirements)

    def settle(self, payload: t.Any, requirements: t.Any) -> SettleResponse:
        return self._call("settle", payload, requirements)

    def _call(self, what: str, payload: t.Any, requirements: t.Any) -> t.Any:
        if self._http is None:
            raise billing.misconfigured("set GVNR_X402_FACILITATOR_URL to accept x402 payments")
        try:
            return getattr(self._http, what)(payload, requirements)
        except Exception as exc:  # httpx errors, non-200 answers, unparsable bodies
            raise FacilitatorError(f"facilitator {what} failed: {exc}") from None


@dataclass
class Gate:
    server: x402ResourceServerSync
    facilitator: _Facilitator
    network: billing.Network
    max_timeout_seconds: int


_gates: dict[tuple, Gate] = {}
_gates_lock = threading.Lock()


def gate(settings: Settings) -> Gate:
    """The resource server for the configured network and facilitator (one per process)."""
    network = billing.network(settings)
    key = (network, settings.gvnr_x402_facilitator_url, settings.gvnr_x402_facilitator_token,
           settings.gvnr_x402_timeout_seconds, settings.gvnr_x402_max_timeout_seconds)
    with _gates_lock:
        found = _gates.get(key)
        if found is None:
            facilitator = _Facilitator(network.chain.caip2, settings.gvnr_x402_facilitator_url,
                                       settings.gvnr_x402_facilitator_token, settings.gvnr_x402_timeout_seconds)
            server = x402ResourceServerSync(facilitator)
            server.register(network.chain.caip2, ExactEvmServerScheme())
            server.initialize()
            found = _gates[key] = Gate(server, facilitator, network, settings.gvnr_x402_max_timeout_seconds)
    return found


def requirements(g: Gate, units: int) -> PaymentRequirements:
    """What the client must pay: `units` USDC base units to the pay-to address."""
    chain = g.network.chain
    config = ResourceConfig(
        scheme="exact",
        network=chain.caip2,
        pay_to=g.network.payto,
        price={"amount": str(units), "asset": chain.usdc,
               "extra": {"name": chain.usdc_eip712_name, "version": chain.usdc_eip712_version}},
        max_timeout_seconds=g.max_timeout_seconds,
    )
    return g.server.build_payment_requirements(config)[0]


def payment_required(g: Gate, accepted: PaymentRequirements, resource_url: str, description: str,
                     error: str | None) -> dict[str, str]:
    """The headers of a 402: PAYMENT-REQUIRED (base64 JSON, x402 v2) and no caching."""
    resource = ResourceInfo(url=resource_url, description=description, mime_type="application/json")
    required: PaymentRequired = g.server.create_payment_required_response([accepted], resource, error)
    return {PAYMENT_REQUIRED_HEADER: encode_payment_required_header(required), "Cache-Control": "no-store"}


def settlement_headers(settled: SettleResponse) -> dict[str, str]:
    return {PAYMENT_RESPONSE_HEADER: encode_payment_response_header(settled)}


def read_payment(headers: t.Mapping[str, str]) -> PaymentPayload | None:
    """The client's payment (PAYMENT-SIGNATURE, or the v1 header name X-PAYMENT), if any.

    An undecodable header is 400 invalid_payment (x402: a malformed payload is a 400)."""
    raw = headers.get(PAYMENT_SIGNATURE_HEADER) or headers.get(X_PAYMENT_HEADER)
    if not raw:
        return None
    try:
        payload = decode_payment_signature_header(raw)
    except Exception:
        raise ApiError(400, "invalid_payment", "the payment header is not base64 JSON of an x402 payment",
                       retryable=False) from None
    if not isinstance(payload, PaymentPayload):
        raise ApiError(400, "invalid_payment", "x402 version 1 payments are not accepted; pay with x402Version 2",
                       retryable=False)
    return payload


def matches(g: Gate, accepted: PaymentRequirements, payload: PaymentPayload) -> bool:
    return g.server.find_matching_requirements([accepted], payload) is not None


@dataclass(frozen=True)
class Authorization:
    payer: str  # lower-case
    nonce: str  # lower-case 0x + 64 hex (EIP-3009: unique per payer, used once on-chain)


def authorization(payload: PaymentPayload) -> Authorization | None:
    """The EIP-3009 authorization of an exact-EVM payment (None when it has none)."""
    auth = payload.payload.get("authorization") if isinstance(payload.payload, dict) else None
    if not isinstance(auth, dict):
        return None
    payer, nonce = auth.get("from"), auth.get("nonce")
    if not isinstance(payer, str) or not isinstance(nonce, str) or not billing.ADDRESS.match(payer):
        return None
    if len(nonce) != 66 or not nonce.startswith("0x"):
        return None
    return Authorization(payer.lower(), nonce.lower())


def verify(g: Gate, payload: PaymentPayload, accepted: PaymentRequirements) -> VerifyResponse:
    return g.server.verify_payment(payload, accepted).verify


def settle(g: Gate, payload: PaymentPayload, accepted: PaymentRequirements) -> SettleResponse:
    return g.server.settle_payment(payload, accepted)
