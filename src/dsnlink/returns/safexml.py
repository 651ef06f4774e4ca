"""Loading untrusted XML safely: the one place where return files meet lxml.

Return files come from the network. The parser never resolves entities, never loads a DTD,
never touches the network, and a document that declares a DTD at all (``<!DOCTYPE``, the door
to external entities (XXE) and to entity expansion, "billion laughs") is refused with
:class:`~dsnlink.errors.UnsafeXml` before lxml reads it. GIP-MDS return files never carry one.
The check is made again on the parsed tree, for encodings the byte scan cannot see (UTF-16).

lxml errors are translated here into :class:`~dsnlink.errors.ReturnParseError` with the line
and column of the fault.
"""

from __future__ import annotations

from lxml import etree

from dsnlink.errors import ReturnParseError, UnsafeXml

_BOM_UTF8 = b"\xef\xbb\xbf"

# "<!DOCTYPE" / "<!ENTITY" as they appear in ASCII-compatible encodings and in UTF-16.
_MARKERS = tuple(
    word.encode(encoding)
    for word in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)

_UNSAFE_REMEDY = (
    "Un fichier retour de Net-entreprises n'en contient jamais : vérifiez sa provenance. "
    "Aucune donnée n'a été lue."
)


def _parser() -> etree.XMLParser:
    # One parser per call: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        huge_tree=False,
        remove_blank_text=True,  # ignorable blanks between elements: less memory
    )


def as_bytes(data: object) -> bytes:
    """``data`` as bytes; anything else (a ``str`` above all) is a caller's mistake."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ReturnParseError(
            "Le contenu du fichier retour doit être fourni sous forme d'octets.",
            received=type(data).__name__,
        )
    return bytes(data)


def load(data: bytes) -> etree._Element:
    """Parse ``data`` and return its root element, refusing anything hostile."""
    data = as_bytes(data)
    if any(marker in data for marker in _MARKERS):
        raise UnsafeXml(
            "Le fichier XML déclare une DTD ou des entités (<!DOCTYPE, <!ENTITY) : il est refusé "
            "par sécurité (risque d'entités externes ou d'expansion d'entités).",
            remedy=_UNSAFE_REMEDY,
        )
    if not data.strip(b" \t\r\n\x00" + _BOM_UTF8):
        raise ReturnParseError(
            "Le fichier retour est vide.",
            remedy="Téléchargez-le à nouveau depuis Net-entreprises.",
        )
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line, column = _position(exc)
        raise ReturnParseError(
            f"Le fichier retour n'est pas un XML bien formé (ligne {line}, colonne {column}) : "
            f"{_reason(exc)}.",
            remedy="Le fichier est probablement tronqué ou abîmé : téléchargez-le à nouveau.",
            line=line,
            column=column,
        ) from exc
    except (etree.LxmlError, ValueError, LookupError) as exc:
        # Unknown encodings and other refusals of lxml before any position is known.
        raise ReturnParseError(
            f"Le fichier retour ne peut pas être lu comme du XML : {exc}.",
            remedy="Vérifiez qu'il s'agit bien d'un fichier retour de Net-entreprises.",
        ) from exc
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise UnsafeXml(
            "Le fichier XML déclare une DTD : il est refusé par sécurité.",
            remedy=_UNSAFE_REMEDY,
        )
    return root


def _position(exc: etree.XMLSyntaxError) -> tuple[int, int]:
    line, column = getattr(exc, "position", (None, None)) or (None, None)
    return int(line or exc.lineno or 0), int(column or exc.offset or 0)


def _reason(exc: etree.XMLSyntaxError) -> str:
    text = str(exc.msg or exc).strip()
    # libxml2 appends "(line N, column M)" that is already in our message.
    cut = text.rfind(", line ")
    return (text[:cut] if cut > 0 else text).rstrip(" .")
