"""Real screening addresses (OFAC SDN crypto list, Forta phishing) and the synthetic entity labels.

The risky ends of every planted exposure path are real list entries, so screening tools are tested
against the same lists an exchange would load. The exchange/defi/gambling labels are synthetic.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from evals.synth import strings as S
from evals.synth.constants import CHAIN_FAMILY

SCREENING_DIR = Path(__file__).resolve().parents[2] / "data_samples" / "screening"

OFAC_SOURCE = "US Treasury OFAC SDN via 0xB10C/ofac-sanctioned-digital-currency-addresses"
OFAC_LIST = "OFAC SDN"
OFAC_SNAPSHOT = date(2024, 9, 27)
FORTA_SOURCE = "forta-network/labelled-datasets"
FORTA_LIST = "Forta labelled phishing (Etherscan phish-hack)"
FORTA_SNAPSHOT = date(2023, 1, 1)
MIXER_LIST = "Known mixers (Tornado Cash contracts on the OFAC SDN list)"
SYNTH_SOURCE = "Sleuth synthetic chain analytics"
SYNTH_LIST = "Synthetic entity labels"
PHISHING_SAMPLE = 300

# Well-known Tornado Cash pool/router contracts; only those present in the OFAC ETH file are used.
TORNADO = (
    "0x722122dF12D4e14e13Ac3b6895a86e84145b6967", "0xd90e2f925DA726b50C4Ed8D0Fb90Ad053324F31b",
    "0x910Cbd523D972eb0a6f4cAe4618aD62622b39DbF", "0x47CE0C6eD5B0Ce3d3A51fdb1C52DC66a7c3c2936",
    "0xA160cdAB225685dA1d56aa342Ad8841c3b53f291", "0x12D66f87A04A9E220743712cE6d9bB1B5616B8Fc",
)
# OFAC file asset -> chain of the address.
OFAC_CHAINS = {
    "XBT": "bitcoin", "ETH": "ethereum", "USDC": "ethereum", "TRX": "tron", "LTC": "litecoin",
    "BSC": "bsc", "ARB": "arbitrum", "BCH": "bitcoin-cash", "BSV": "bitcoin-sv", "BTG": "bitcoin-gold",
    "DASH": "dash", "ETC": "ethereum-classic", "XMR": "monero", "XRP": "ripple", "XVG": "verge",
    "ZEC": "zcash",
}
EXCHANGES = ("Northwind Exchange", "Bluefin Markets", "Kestrel Trade", "Harbor Digital", "Aurum X")
DEFI = ("Swapline Router v3", "Lendora Pool", "Bridgeport Bridge")
GAMBLING = ("LuckyReel Casino", "DiceHall", "Crash21")

AddressRow = tuple[str, str, str, str, str | None, date | None, str | None]


@dataclass
class Screening:
    """Address table rows plus pools the scenarios draw risky and labelled counterparties from."""

    rows: list[AddressRow] = field(default_factory=list)
    sanctioned: dict[str, list[str]] = field(default_factory=dict)  # chain -> non-mixer OFAC addresses
    mixers: list[str] = field(default_factory=list)
    phishing: list[tuple[str, str]] = field(default_factory=list)  # (address, category)
    labelled: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (category, chain) -> addrs

    def add_label(self, address: str, chain: str, category: str, entity: str, snapshot: date) -> None:
        """Add a synthetic entity label (exchange deposit addresses are added by scenarios)."""
        self.rows.append((address, chain, category, SYNTH_SOURCE, SYNTH_LIST, snapshot, entity))
        self.labelled.setdefault((category, chain), []).append(address)


def _read_lines(p: Path) -> list[str]:
    return [ln.strip() for ln in p.read_text().splitlines() if ln.strip()]


def load_screening(seed: int, snapshot: date, directory: Path = SCREENING_DIR) -> Screening:
    """Read the shipped lists and draw the synthetic exchange/defi/gambling labels."""
    sc = Screening()
    seen: set[tuple[str, str]] = set()
    tornado_lower = {t.lower() for t in TORNADO}
    ofac_dir = directory / "ofac_sdn_crypto"
    for path in sorted(ofac_dir.glob("sanctioned_addresses_*.txt")):
        asset = path.stem.rsplit("_", 1)[1]
        for addr in _read_lines(path):
            chain = OFAC_CHAINS.get(asset, "ethereum" if addr.startswith("0x") else "tron")
            if asset == "USDT":
                chain = "ethereum" if addr.startswith("0x") else "tron"
            key = (addr.lower() if addr.startswith("0x") else addr, chain)
            if key in seen:
                continue
            seen.add(key)
            is_mixer = addr.lower() in tornado_lower
            entity = "Tornado Cash" if is_mixer else None
            sc.rows.append((addr, chain, "sanctioned", OFAC_SOURCE, OFAC_LIST, OFAC_SNAPSHOT, entity))
            if is_mixer:
                sc.rows.append((addr, chain, "mixer", OFAC_SOURCE, MIXER_LIST, OFAC_SNAPSHOT, entity))
                sc.mixers.append(addr)
            elif chain in ("bitcoin", "ethereum", "tron"):
                sc.sanctioned.setdefault(chain, []).append(addr)
    with (directory / "forta_labelled" / "phishing_scams.csv").open(newline="") as f:
        forta = sorted((r["address"], r["etherscan_tag"].strip()) for r in csv.DictReader(f) if r["address"])
    pick = np.random.default_rng(20230101).choice(len(forta), size=min(PHISHING_SAMPLE, len(forta)),
                                                   replace=False)
    for i in sorted(pick.tolist()):
        addr, tag = forta[i]
        category = "phishing" if "phish" in tag.lower() else "scam"
        sc.rows.append((addr, "ethereum", category, FORTA_SOURCE, FORTA_LIST, FORTA_SNAPSHOT, tag or None))
        sc.phishing.append((addr, category))
    _synthetic_labels(sc, seed, snapshot)
    return sc


def _synthetic_labels(sc: Screening, seed: int, snapshot: date) -> None:
    plan = ([("exchange", ex, ch) for ex in EXCHANGES for ch in ("bitcoin", "ethereum", "tron")]
            + [("exchange", EXCHANGES[0], "solana"), ("exchange", EXCHANGES[1], "litecoin"),
               ("exchange", EXCHANGES[2], "bsc")]
            + [("defi", d, "ethereum") for d in DEFI] + [("defi", DEFI[0], "bsc"), ("defi", DEFI[0], "solana")]
            + [("gambling", g, ch) for g in GAMBLING for ch in ("ethereum", "tron")]
            + [("gambling", GAMBLING[0], "bitcoin")])
    for j, (cat, entity, chain) in enumerate(plan):
        k = S.keys(seed, "label", j)
        addr = S.addresses(k, CHAIN_FAMILY[chain])[0].as_py()
        sc.add_label(addr, chain, cat, f"{entity} ({'hot wallet' if cat == 'exchange' else 'contract'})",
                     snapshot)
