"""Vietnamese text: NFC on input, and a folded copy for search that ignores diacritics and case."""
import unicodedata

_D = str.maketrans({"đ": "d", "Đ": "d"})


def nfc(value: str | None) -> str | None:
    """Normalise to NFC and collapse inner whitespace, so the same name is stored one way."""
    if value is None:
        return None
    return " ".join(unicodedata.normalize("NFC", value).split())


def fold(value: str | None) -> str:
    """Lower-case, strip diacritics; Đ/đ do not decompose, so they are mapped by hand."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFD", value.translate(_D).lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())
