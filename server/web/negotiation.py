"""Content-coding negotiation (RFC 9110 §12.5.3): which of the server's codings a request's
Accept-Encoding accepts, and which one to send. Pure: a header string in, a coding name out.

Rules: q-values weigh codings (q=0 refuses one); `*` stands for every coding not named;
`x-gzip` is `gzip`; no header, or nothing acceptable, means identity (the representation is
never refused: an uncompressed page beats an error). Among codings of equal weight the server's
order wins; identity wins only where the header weighs it (by name or `*`) above them all.
"""

from __future__ import annotations

import re

IDENTITY = "identity"
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")
_ALIASES = {"x-gzip": "gzip"}


def weights(accept_encoding: str) -> dict[str, float]:
    """Each coding named in the header with its q-value (lower-cased names, 1.0 if no q).
    A malformed element is ignored; a name given twice keeps its first weight."""
    out: dict[str, float] = {}
    for element in accept_encoding.split(","):
        name, *params = (p.strip() for p in element.split(";"))
        name = _ALIASES.get(name.lower(), name.lower())
        if not name:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                if not _QVALUE.match(value):
                    break
                q = float(value)
        else:
            out.setdefault(name, q)
    return out


def choose(accept_encoding: str | None, offered: tuple[str, ...]) -> str:
    """The coding to send: the client's heaviest acceptable one among `offered` (in the
    server's order of preference), else identity."""
    if accept_encoding is None:
        return IDENTITY
    w = weights(accept_encoding)
    star = w.get("*", 0.0)
    best, best_q = IDENTITY, 0.0
    for coding in offered:
        q = w.get(coding, star)
        if q > best_q:
            best, best_q = coding, q
    if best != IDENTITY and w.get(IDENTITY, star) > best_q:  # identity named heavier
        return IDENTITY
    return best
