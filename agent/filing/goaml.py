"""goAML report XML (UNODC goAML schema 4.x structure) from the filing facts.

The elements and their order follow the published goAML 4.0 report structure: the `report` root
(rentity_id ... report_indicators), one `transaction` per flagged transaction with its
`t_from_my_client`/`t_from` and `t_to_my_client`/`t_to` sides. Our own customers are `*_my_client`
accounts with their KYC; on-chain addresses and bank references are other institutions' accounts.
Lookup codes (transmode, funds, indicators) come from the FIU profile. `schemas/goaml.xsd` checks it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from agent.filing.facts import FilingFacts, Party
from agent.filing.profiles import Profile

REASON_LIMIT = 4000  # goAML's length of `reason` and `action`


def missing_fields(facts: FilingFacts, profile: Profile, actions_text: str) -> list[str]:
    """Every required goAML field the case or the profile cannot fill, named as in the schema."""
    need = []
    for key in ("rentity_id", "submission_code", "report_code", "currency_code_local", "institution_name",
                "institution_code", "reporting_person.first_name", "reporting_person.last_name",
                "reporting_person.email", "usd_to_local"):
        if profile.get(key) in (None, ""):
            need.append(f"{key} (FIU profile {profile.name})")
    if not (facts.narrative or "").strip():
        need.append("reason (the case has no narrative)")
    elif len(facts.narrative) > REASON_LIMIT:
        need.append(f"reason (the narrative has {len(facts.narrative):,} characters; goAML allows {REASON_LIMIT:,})")
    if len(_action_text(profile, actions_text)) > REASON_LIMIT:
        need.append(f"action (longer than {REASON_LIMIT:,} characters)")
    if not facts.transactions:
        need.append("transaction (the case flags no transaction found in the workspace)")
    if facts.missing_txns:
        need.append(f"transaction {', '.join(facts.missing_txns[:5])} (flagged but not in the workspace)")
    if facts.subject is None:
        need.append(f"t_from_my_client/t_to_my_client account {facts.account_id} (not in the workspace)")
    for kind in sorted({t["kind"] for t in facts.transactions}):
        if not profile.get(f"transmode.{kind}"):
            need.append(f"transmode_code for {kind} (FIU profile {profile.name}: [transmode])")
        if not profile.get(f"funds.{kind}"):
            need.append(f"from_funds_code/to_funds_code for {kind} (FIU profile {profile.name}: [funds])")
    if not profile.get(f"indicators.{facts.typology}"):
        need.append(f"report_indicators for {facts.typology} (FIU profile {profile.name}: [indicators])")
    return need


def _action_text(profile: Profile, actions_text: str) -> str:
    return " ".join(p for p in (str(profile.get("action") or ""), actions_text) if p)


def _sub(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _stamp(ts: datetime) -> str:
    return ts.replace(microsecond=0).isoformat() if isinstance(ts, datetime) else str(ts)


def _country(facts: FilingFacts, party: Party, profile: Profile) -> str:
    if party.kind == "client" and party.id == facts.account_id and facts.subject:
        return str(facts.subject.get("country") or profile.get("country"))
    if party.kind == "client":
        return str(profile.get("country"))
    if party.kind == "bank" and party.id.startswith("BANK-") and len(party.id.split("-")) > 2:
        return party.id.split("-")[1][:2].upper()
    return str(profile.get("unknown_country") or "XX")


def _kyc_comment(subject: dict[str, Any]) -> str:
    parts = [f"{subject.get('kind', 'account')} customer", f"KYC level {subject.get('kyc_level')}",
             f"residence {subject.get('country')}"]
    if subject.get("occupation"):
        parts.append(f"occupation {subject['occupation']}")
    if subject.get("birth_year"):
        parts.append(f"born {subject['birth_year']}")
    if subject.get("declared_income_usd") is not None:
        parts.append(f"declared yearly income {float(subject['declared_income_usd']):,.0f} USD")
    if subject.get("risk_rating"):
        parts.append(f"onboarding risk rating {subject['risk_rating']}")
    return "KYC: " + ", ".join(parts) + "."


def _account(parent: ET.Element, tag: str, facts: FilingFacts, party: Party, profile: Profile, asset: str) -> None:
    acct = _sub(parent, tag)
    if party.kind == "client":
        _sub(acct, "institution_name", profile.get("institution_name"))
        _sub(acct, "institution_code", profile.get("institution_code"))
        _sub(acct, "non_bank_institution", "true")
        _sub(acct, "account", party.id)
        _sub(acct, "currency_code", asset)
        _sub(acct, "client_number", party.id)
        subject = facts.subject if party.id == facts.account_id else None
        if subject:
            _sub(acct, "personal_account_type", "B" if subject.get("kind") == "business" else "P")
            if (name := facts.subject_name()) is not None:
                sig = _sub(acct, "signatory")
                _sub(sig, "is_primary", "true")
                person = _sub(sig, "t_person")
                _sub(person, "first_name", name[0])
                _sub(person, "last_name", name[1])
                _sub(person, "residence", subject.get("country"))
                if subject.get("occupation"):
                    _sub(person, "occupation", subject["occupation"])
            if isinstance(subject.get("registered_at"), datetime):
                _sub(acct, "opened", _stamp(subject["registered_at"]))
            _sub(acct, "status_code", "A")
            _sub(acct, "comments", _kyc_comment(subject))
    else:
        label = party.label or ("unhosted or unattributed wallet" if party.kind == "address" else "bank")
        _sub(acct, "institution_name", f"{label} ({party.chain})" if party.chain else label)
        _sub(acct, "institution_code", party.chain or "bank-reference")
        _sub(acct, "non_bank_institution", "true" if party.kind == "address" else "false")
        _sub(acct, "account", party.id)
        _sub(acct, "currency_code", asset)


def _side(tx: ET.Element, direction: str, facts: FilingFacts, party: Party, kind: str, asset: str,
          profile: Profile) -> None:
    short = "from" if direction == "from" else "to"
    mine = party.kind == "client"
    side = _sub(tx, f"t_{short}_my_client" if mine else f"t_{short}")
    _sub(side, f"{short}_funds_code", profile.get(f"funds.{kind}"))
    _account(side, f"{short}_account", facts, party, profile, asset)
    _sub(side, f"{short}_country", _country(facts, party, profile))


def render(facts: FilingFacts, profile: Profile, actions_text: str, now: datetime | None = None) -> bytes:
    """The goAML report as UTF-8 XML bytes (check `missing_fields` first)."""
    now = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    rate = float(profile.get("usd_to_local"))
    root = ET.Element("report")
    _sub(root, "rentity_id", profile.get("rentity_id"))
    if profile.get("rentity_branch"):
        _sub(root, "rentity_branch", profile.get("rentity_branch"))
    _sub(root, "submission_code", profile.get("submission_code"))
    _sub(root, "report_code", profile.get("report_code"))
    _sub(root, "entity_reference", facts.case_id)
    _sub(root, "submission_date", now.isoformat())
    _sub(root, "currency_code_local", profile.get("currency_code_local"))
    rp = _sub(root, "reporting_person")
    for key in ("title", "first_name", "last_name", "email", "occupation"):
        if profile.get(f"reporting_person.{key}"):
            _sub(rp, key, profile.get(f"reporting_person.{key}"))
    _sub(root, "reason", facts.narrative)
    _sub(root, "action", _action_text(profile, actions_text))
    for t in facts.transactions:
        tx = _sub(root, "transaction")
        _sub(tx, "transactionnumber", t["txn_id"])
        if t.get("tx_hash"):
            _sub(tx, "internal_ref_number", t["tx_hash"])
        chain = f" on {t['chain']}" if t.get("chain") else ""
        _sub(tx, "transaction_description", f"{t['kind']} of {float(t['amount']):g} {t['asset']}{chain}")
        _sub(tx, "date_transaction", _stamp(t["ts"]))
        _sub(tx, "transmode_code", profile.get(f"transmode.{t['kind']}"))
        _sub(tx, "amount_local", f"{float(t['amount_usd']) * rate:.2f}")
        _side(tx, "from", facts, facts.parties[str(t["src"])], t["kind"], t["asset"], profile)
        _side(tx, "to", facts, facts.parties[str(t["dst"])], t["kind"], t["asset"], profile)
    ind = _sub(root, "report_indicators")
    for code in profile.get(f"indicators.{facts.typology}"):
        _sub(ind, "indicator", code)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
