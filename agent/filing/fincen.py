"""FinCEN SAR XML (BSA E-Filing, FinCEN Report 111, form type SARX) from the filing facts.

One `Activity` (an initial report) with the six party types a SAR needs: transmitter (35),
transmitter contact (37), filing institution (30), contact office (8), the financial institution
where the activity occurred (34) and the subjects (33: the alert's account, then the related
accounts the decision names). `SuspiciousActivity` carries the period, the total and the
classifications the FIU profile maps the typology to. The narrative (at most 17,000 characters)
is split into up to five 4,000-character parts, and the flagged transactions go in a CSV named as
the attachment (`ActivitySupportDocument`). `schemas/fincen_sar.xsd` checks it.
"""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from agent.filing.facts import FilingFacts
from agent.filing.profiles import Profile

NS = "www.fincen.gov/base"
NARRATIVE_LIMIT = 17000
PART_LIMIT = 4000
ATTACHMENT_LIMIT = 1_000_000  # FinCEN accepts one CSV attachment of at most 1 MB


def missing_fields(facts: FilingFacts, profile: Profile, csv_bytes: bytes) -> list[str]:
    """Every required SAR field the case or the profile cannot fill."""
    need = []
    for key in ("transmitter_name", "transmitter_tcc", "transmitter_tin", "transmitter_phone",
                "transmitter_address.street", "transmitter_address.city", "transmitter_address.state",
                "transmitter_address.zip", "transmitter_address.country", "transmitter_contact",
                "filing_institution_name", "filing_institution_tin", "filing_institution_tin_type",
                "primary_regulator", "organization_type", "contact_office", "contact_phone",
                "institution_address.street", "institution_address.city", "institution_address.state",
                "institution_address.zip", "institution_address.country"):
        if profile.get(key) in (None, ""):
            need.append(f"{key} (FIU profile {profile.name})")
    text = (facts.narrative or "").strip()
    if not text:
        need.append("ActivityNarrativeText (the case has no narrative)")
    elif len(text) > NARRATIVE_LIMIT:
        need.append(f"ActivityNarrativeText (the narrative has {len(text):,} characters; FinCEN allows "
                    f"{NARRATIVE_LIMIT:,})")
    if not facts.transactions:
        need.append("SuspiciousActivityFromDateText and TotalSuspiciousAmountText (the case flags no transaction "
                    "found in the workspace)")
    if facts.missing_txns:
        need.append(f"transaction {', '.join(facts.missing_txns[:5])} (flagged but not in the workspace)")
    if facts.subject is None:
        need.append(f"subject party (account {facts.account_id} is not in the workspace)")
    if not profile.get(f"classification.{facts.typology}"):
        need.append(f"SuspiciousActivityClassification for {facts.typology} (FIU profile {profile.name}: "
                    f"[classification])")
    if len(csv_bytes) > ATTACHMENT_LIMIT:
        need.append(f"attachment ({len(csv_bytes):,} bytes; FinCEN allows {ATTACHMENT_LIMIT:,})")
    return need


def attachment_csv(facts: FilingFacts) -> bytes:
    """The flagged transactions with both sides' kinds and labels: the SAR's tabular evidence."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["txn_id", "timestamp_utc", "kind", "asset", "amount", "amount_usd", "from", "from_kind",
                "from_label", "to", "to_kind", "to_label", "chain", "tx_hash"])
    for t in facts.transactions:
        src, dst = facts.parties[str(t["src"])], facts.parties[str(t["dst"])]
        w.writerow([t["txn_id"], _iso(t["ts"]), t["kind"], t["asset"], f"{float(t['amount']):g}",
                    f"{float(t['amount_usd']):.2f}", src.id, src.kind, src.label, dst.id, dst.kind, dst.label,
                    t.get("chain") or "", t.get("tx_hash") or ""])
    return buf.getvalue().encode("utf-8")


def _iso(ts: Any) -> str:
    return ts.replace(microsecond=0).isoformat() if isinstance(ts, datetime) else str(ts)


def _ymd(ts: Any) -> str:
    return ts.strftime("%Y%m%d") if isinstance(ts, datetime) else str(ts)[:10].replace("-", "")


def split_narrative(text: str) -> list[str]:
    """Parts of at most 4,000 characters, cut at paragraph, then sentence, then word boundaries."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > PART_LIMIT:
        window = rest[:PART_LIMIT]
        cut = max(window.rfind("\n\n"), window.rfind(". ") + 1, 0) or window.rfind(" ") or PART_LIMIT
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*parts, rest] if rest else parts


class _Batch:
    """Element factory numbering every element's SeqNum across the batch, as FinCEN requires."""

    def __init__(self) -> None:
        self.seq = 0

    def el(self, parent: ET.Element, tag: str, text: Any = None, seq: bool = False) -> ET.Element:
        e = ET.SubElement(parent, f"{{{NS}}}{tag}")
        if seq:
            self.seq += 1
            e.set("SeqNum", str(self.seq))
        if text is not None:
            e.text = str(text)
        return e


def _address(b: _Batch, party: ET.Element, addr: dict[str, Any]) -> None:
    a = b.el(party, "Address", seq=True)
    b.el(a, "RawCityText", addr["city"])
    b.el(a, "RawCountryCodeText", addr["country"])
    b.el(a, "RawStateCodeText", addr["state"])
    b.el(a, "RawStreetAddress1Text", addr["street"])
    b.el(a, "RawZIPCode", addr["zip"])


def _name(b: _Batch, party: ET.Element, full: str) -> None:
    n = b.el(party, "PartyName", seq=True)
    b.el(n, "PartyNameTypeCode", "L")
    b.el(n, "RawPartyFullName", full)


def _ident(b: _Batch, party: ET.Element, number: str, type_code: str) -> None:
    i = b.el(party, "PartyIdentification", seq=True)
    b.el(i, "PartyIdentificationNumberText", number)
    b.el(i, "PartyIdentificationTypeCode", type_code)


def _institution(b: _Batch, act: ET.Element, code: str, p: Profile) -> None:
    party = b.el(act, "Party", seq=True)
    b.el(party, "ActivityPartyTypeCode", code)
    b.el(party, "PrimaryRegulatorTypeCode", p.get("primary_regulator"))
    _name(b, party, p.get("filing_institution_name"))
    _address(b, party, p.get("institution_address"))
    _ident(b, party, p.get("filing_institution_tin"), p.get("filing_institution_tin_type"))
    org = b.el(party, "OrganizationClassificationTypeSubtype", seq=True)
    b.el(org, "OrganizationTypeID", p.get("organization_type"))


def _subject(b: _Batch, act: ET.Element, facts: FilingFacts, account_id: str, subject: dict[str, Any] | None,
             p: Profile) -> None:
    party = b.el(act, "Party", seq=True)
    b.el(party, "ActivityPartyTypeCode", "33")
    business = bool(subject and subject.get("kind") == "business")
    if not business:
        b.el(party, "BirthDateUnknownIndicator", "Y")  # the workspace keeps a birth year at most
    if business:
        b.el(party, "PartyAsEntityOrganizationIndicator", "Y")
    else:
        b.el(party, "UnknownGenderIndicator", "Y")
    n = b.el(party, "PartyName", seq=True)
    name = facts.subject_name() if account_id == facts.account_id else None
    if name is None:
        b.el(n, "EntityLastNameUnknownIndicator", "Y")
        if not business:
            b.el(n, "FirstNameUnknownIndicator", "Y")
        b.el(n, "PartyNameTypeCode", "L")
    else:
        b.el(n, "PartyNameTypeCode", "L")
        b.el(n, "RawEntityIndividualLastName", name[1])
        b.el(n, "RawIndividualFirstName", name[0])
    a = b.el(party, "Address", seq=True)
    b.el(a, "CityUnknownIndicator", "Y")
    if subject and subject.get("country"):
        b.el(a, "RawCountryCodeText", subject["country"])
    else:
        b.el(a, "CountryCodeUnknownIndicator", "Y")
    b.el(a, "StateCodeUnknownIndicator", "Y")
    b.el(a, "StreetAddressUnknownIndicator", "Y")
    b.el(a, "ZIPCodeUnknownIndicator", "Y")
    i = b.el(party, "PartyIdentification", seq=True)
    b.el(i, "OtherPartyIdentificationTypeText", "Exchange account id")
    b.el(i, "PartyIdentificationNumberText", account_id[:25])
    b.el(i, "PartyIdentificationTypeCode", "999")
    if subject and subject.get("occupation"):
        occ = b.el(party, "PartyOccupationBusiness", seq=True)
        b.el(occ, "OccupationBusinessText", str(subject["occupation"])[:50])
    assoc = b.el(party, "PartyAccountAssociation", seq=True)
    inst = b.el(assoc, "Party", seq=True)
    b.el(inst, "ActivityPartyTypeCode", "41")
    _ident(b, inst, p.get("filing_institution_tin"), p.get("filing_institution_tin_type"))
    acct = b.el(inst, "Account", seq=True)
    b.el(acct, "AccountNumberText", account_id[:40])
    b.el(assoc, "PartyAccountAssociationTypeCode", "7")


def render(facts: FilingFacts, profile: Profile, attachment_name: str, related: dict[str, dict[str, Any] | None],
           now: datetime | None = None) -> bytes:
    """The SAR batch as UTF-8 XML bytes (check `missing_fields` first)."""
    ET.register_namespace("fc2", NS)
    now = now or datetime.now(UTC)
    p = profile
    b = _Batch()
    root = ET.Element(f"{{{NS}}}EFilingBatchXML")
    b.el(root, "FormTypeCode", "SARX")
    act = b.el(root, "Activity", seq=True)
    b.el(act, "FilingDateText", now.strftime("%Y%m%d"))
    assoc = b.el(act, "ActivityAssociation", seq=True)
    b.el(assoc, "InitialReportIndicator", "Y")
    doc = b.el(act, "ActivitySupportDocument", seq=True)
    b.el(doc, "OriginalAttachmentFileName", attachment_name)

    party = b.el(act, "Party", seq=True)
    b.el(party, "ActivityPartyTypeCode", "35")
    _name(b, party, p.get("transmitter_name"))
    _address(b, party, p.get("transmitter_address"))
    ph = b.el(party, "PhoneNumber", seq=True)
    b.el(ph, "PhoneNumberText", p.get("transmitter_phone"))
    _ident(b, party, p.get("transmitter_tin"), "4")
    _ident(b, party, p.get("transmitter_tcc"), "28")

    party = b.el(act, "Party", seq=True)
    b.el(party, "ActivityPartyTypeCode", "37")
    _name(b, party, p.get("transmitter_contact"))

    _institution(b, act, "30", p)

    party = b.el(act, "Party", seq=True)
    b.el(party, "ActivityPartyTypeCode", "8")
    _name(b, party, p.get("contact_office"))
    ph = b.el(party, "PhoneNumber", seq=True)
    b.el(ph, "PhoneNumberText", p.get("contact_phone"))

    _institution(b, act, "34", p)
    _subject(b, act, facts, facts.account_id, facts.subject, p)
    for account_id, row in related.items():
        _subject(b, act, facts, account_id, row, p)

    start, end = facts.period  # type: ignore[misc]
    sa = b.el(act, "SuspiciousActivity", seq=True)
    b.el(sa, "SuspiciousActivityFromDateText", _ymd(start))
    b.el(sa, "SuspiciousActivityToDateText", _ymd(end))
    b.el(sa, "TotalSuspiciousAmountText", str(math.ceil(facts.total_usd)))  # whole dollars, rounded up
    for entry in p.get(f"classification.{facts.typology}"):
        c = b.el(sa, "SuspiciousActivityClassification", seq=True)
        if len(entry) > 2:
            b.el(c, "OtherSuspiciousActivityTypeText", str(entry[2])[:50])
        b.el(c, "SuspiciousActivitySubtypeID", entry[1])
        b.el(c, "SuspiciousActivityTypeID", entry[0])
    for ip, ts in facts.ips:
        e = b.el(act, "ActivityIPAddress", seq=True)
        b.el(e, "ActivityIPAddressDateText", _ymd(ts))
        b.el(e, "IPAddressText", ip)
    for n, part in enumerate(split_narrative(facts.narrative), start=1):
        e = b.el(act, "ActivityNarrativeInformation", seq=True)
        b.el(e, "ActivityNarrativeSequenceNumber", n)
        b.el(e, "ActivityNarrativeText", part)
    parties = act.findall(f"{{{NS}}}Party")
    root.set("ActivityAttachmentCount", "1")
    root.set("ActivityCount", "1")
    root.set("AttachmentCount", "1")
    root.set("PartyCount", str(len(parties)))
    root.set("TotalAmount", str(math.ceil(facts.total_usd)))
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
