"""The search texts' folding: folding a header block once gives the fields that folding each
name and value would (roost.store.mail.texts.folded_fields relies on it at every delivery)."""

from hypothesis import given
from hypothesis import strategies as st

from roost.store.mail.texts import fold, folded_fields, header_fields


def _field_by_field(headers_text: str) -> dict[str, str]:
    """The definition: each name and each value folded on its own."""
    fields: dict[str, list[str]] = {}
    for line in headers_text.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            fields.setdefault(fold(name.strip()), []).append(fold(value))
    return {name: "\n".join(values) for name, values in fields.items()}


# Letters whose folding changes their length or form (ß, ŉ, İ, final sigma, ligatures),
# white space and line breaks of every kind, colons and NUL.
_TRICKY = st.sampled_from(
    list("ßẞŉİıΣσςﬁﬀǅ\u0130\u1e9e:; \t\r\n\x0b\x0c\x1c\x85\u2028\u2029\x00\u00a0\u3000aZ")
)


@given(st.lists(st.one_of(_TRICKY, st.characters()), max_size=80).map("".join))
def test_folding_the_block_once_equals_folding_each_field(text: str) -> None:
    assert header_fields(text) == _field_by_field(text)
    assert folded_fields(fold(text)) == _field_by_field(text)


def test_names_and_values_fold() -> None:
    text = "Subject: STRASSE Straße\nX-Tag:  Σ\nsubject: again"
    assert header_fields(text) == {"subject": " strasse strasse\n again", "x-tag": "  \u03c3"}
