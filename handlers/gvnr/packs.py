"""gvnr: the packs route - what a preset costs and where to send the USDC."""

from __future__ import annotations

import typing as t

from generated.gvnr import models as m
from handlers.gvnr import billing
from server.settings import current


def get_packs_by_pack_info(pack: str) -> dict[str, t.Any]:
    """Public: price, operations and the payment details for a direct USDC transfer."""
    net = billing.network(current())
    usd = billing.PACKS[pack]
    info = m.V1PacksPackInfoGetResponse(
        pack=m.Pack(pack),
        amount_usd=usd,
        description=billing.pack_description(pack, net.chain),
        network_name=net.chain.name,
        chain_id=net.chain.chain_id,
        usdc_contract=net.chain.usdc,
        usdc_amount_raw=str(usd * billing.BASE_UNITS_PER_USD),
        payto_address=net.payto,
        ops=usd * billing.OPS_PER_USD,
    )
    return info.model_dump(mode="json")
