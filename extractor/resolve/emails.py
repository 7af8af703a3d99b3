"""What an e-mail domain says about a country (and sometimes an institution).

Order of evidence, strongest first:

1. a known institution domain (suffix match: ``cs.tsinghua.edu.cn`` -> Tsinghua) — the
   institution's country; for a multi-country company the country of a site named in
   the sub-domain (``zurich.ibm.com``, ``in.ibm.com``), else the headquarters country
   marked ``HQ_DEFAULT``;
2. a country-code TLD (``.de``, ``.ac.uk``, ``.edu.cn``); vanity ccTLDs (.io, .ai, .co,
   .me, .tv …) say nothing;
3. ``.edu`` not in the lists -> US.  Since 2001 only US-accredited post-secondary
   institutions can register .edu (a few older foreign holders, e.g. kaist.edu, are in
   the lists and matched in step 1), so an unlisted .edu is US; the resolver records
   this as ``EMAIL_DOMAIN`` with a note.  ``.gov`` and ``.mil`` -> US;
4. web-mail: gmail.com, outlook.com … say nothing; Chinese (qq.com, 163.com, 126.com …)
   and Korean (naver.com, daum.net …) web-mail give a *weak* hint that the resolver uses
   only when nothing else is known (many students abroad keep these addresses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor.resolve.entries import OrgEntry
from extractor.schemas import VALID_COUNTRY_CODES, Method

GENERIC_MAIL = frozenset("""
gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com ymail.com
icloud.com me.com mac.com aol.com protonmail.com proton.me pm.me zoho.com mail.com
gmx.com gmx.net fastmail.com hey.com acm.org ieee.org users.noreply.github.com
hotmail.co.uk yahoo.co.uk outlook.fr hotmail.fr yahoo.fr live.cn outlook.de
""".split())

#: Web-mail that hints at a country but does not place the affiliation there.
WEAK_MAIL = {
    **dict.fromkeys("qq.com 163.com 126.com foxmail.com sina.com sina.cn sohu.com yeah.net "
                    "aliyun.com 139.com 189.cn tom.com vip.qq.com vip.163.com".split(), "CN"),
    **dict.fromkeys("naver.com daum.net hanmail.net nate.com".split(), "KR"),
    **dict.fromkeys("yandex.ru mail.ru rambler.ru inbox.ru list.ru bk.ru".split(), "RU"),
    **dict.fromkeys("web.de gmx.de t-online.de freenet.de".split(), "DE"),
    **dict.fromkeys("free.fr orange.fr laposte.net wanadoo.fr sfr.fr".split(), "FR"),
    **dict.fromkeys("yahoo.co.jp docomo.ne.jp".split(), "JP"),
    "rediffmail.com": "IN", "libero.it": "IT", "seznam.cz": "CZ", "wp.pl": "PL",
    "o2.pl": "PL", "interia.pl": "PL", "terra.com.br": "BR", "bol.com.br": "BR",
}

#: ccTLDs sold as generic names: they say nothing about where the owner is.
VANITY_TLDS = frozenset("io ai co me tv cc ws fm to ly gg sh ac la nu tk ms am im so vc cx gs pw ag ml ga cf gq".split())
_TLD_FIX = {"uk": "GB", "su": "RU"}
_DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
_ALUMNI = ("alum.", "alumni.", "alumnae.", "alumnus.")


@dataclass(frozen=True, slots=True)
class EmailEvidence:
    """What one domain says: a country, how strongly, and the institution if known."""

    domain: str
    country: str | None
    method: Method
    strength: str  # institution | company | cctld | edu | gov | weak | none
    entry: OrgEntry | None = None
    note: str | None = None


def normalise_domain(domain: str) -> str | None:
    """'@CS.Tsinghua.edu.cn.' -> 'cs.tsinghua.edu.cn'; unusable strings -> None."""
    d = domain.strip().lower().split("@")[-1].replace(" ", "").strip(".")
    return d if _DOMAIN_RE.match(d) else None


class EmailIndex:
    """Domain -> evidence, using the gazetteer's known domains first."""

    def __init__(self, domains: dict[str, OrgEntry]) -> None:
        self._domains = domains

    def entry_for(self, domain: str) -> OrgEntry | None:
        """The organisation owning ``domain`` or one of its parent domains."""
        labels = domain.split(".")
        for i in range(len(labels) - 1):
            hit = self._domains.get(".".join(labels[i:]))
            if hit is not None:
                return hit
        return None

    def evidence(self, domain: str | None) -> EmailEvidence | None:
        if not domain:
            return None
        d = normalise_domain(domain)
        if d is None:
            return None
        if d in GENERIC_MAIL or d.startswith(_ALUMNI):
            return EmailEvidence(d, None, Method.UNKNOWN, "none", note=f"{d} is generic mail")
        if d in WEAK_MAIL:
            return EmailEvidence(d, WEAK_MAIL[d], Method.EMAIL_DOMAIN, "weak",
                                 note=f"{d} web-mail only hints at {WEAK_MAIL[d]}")
        entry = self.entry_for(d)
        if entry is not None and entry.country:
            if entry.multi_country:
                site = _site_from_subdomain(d, entry) or _cctld(d)
                if site:
                    return EmailEvidence(d, site, Method.EMAIL_DOMAIN, "company", entry,
                                         note=f"{d} names a {entry.name} site in {site}")
                return EmailEvidence(d, entry.country, Method.HQ_DEFAULT, "company", entry,
                                     note=f"{d} is {entry.name}, a multi-country company")
            return EmailEvidence(d, entry.country, Method.EMAIL_DOMAIN, "institution", entry)
        tld = d.rsplit(".", 1)[-1]
        code = _cctld(d)
        if code:
            return EmailEvidence(d, code, Method.EMAIL_DOMAIN, "cctld")
        if tld in ("edu",):
            return EmailEvidence(d, "US", Method.EMAIL_DOMAIN, "edu", note=f"unlisted .edu domain {d}: US")
        if tld in ("gov", "mil"):
            return EmailEvidence(d, "US", Method.EMAIL_DOMAIN, "gov")
        return EmailEvidence(d, None, Method.UNKNOWN, "none")

    def country_of_email(self, domain: str) -> tuple[str, Method] | None:
        """(country, method) for a domain, or None when it says nothing (or only hints)."""
        ev = self.evidence(domain)
        if ev is None or ev.country is None or ev.strength == "weak":
            return None
        return ev.country, ev.method


def _cctld(domain: str) -> str | None:
    """The country of a country-code TLD (``.ac.uk`` -> GB); None for vanity and generic TLDs."""
    tld = domain.rsplit(".", 1)[-1]
    code = _TLD_FIX.get(tld, tld.upper())
    if len(tld) == 2 and tld not in VANITY_TLDS and code in VALID_COUNTRY_CODES:
        return code
    return None


def _site_from_subdomain(domain: str, entry: OrgEntry) -> str | None:
    """``in.ibm.com`` -> IN, ``zurich.ibm.com`` -> CH (a site of the company)."""
    first = domain.split(".", 1)[0]
    sites = {k.casefold().replace(" ", ""): v for k, v in entry.sites.items()}
    if first in sites:
        return sites[first]
    code = _TLD_FIX.get(first, first.upper())
    if len(first) == 2 and code in VALID_COUNTRY_CODES and code in set(entry.sites.values()) | {entry.country}:
        return code
    return None
