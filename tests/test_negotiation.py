"""Accept-Encoding negotiation, the pure rules: q-values, `*`, identity, aliases, bad input."""

from __future__ import annotations

from server.web.negotiation import choose, weights

OFFERED = ("zstd", "br", "gzip")


def test_weights_read_names_case_insensitively_with_their_q_values() -> None:
    assert weights("GZip;Q=0.5, br , zstd;q=1.000, x-gzip;q=0.1") == {
        "gzip": 0.5, "br": 1.0, "zstd": 1.0}  # x-gzip is gzip; its first weight stands


def test_a_malformed_q_value_drops_that_coding_only() -> None:
    assert weights("zstd;q=high, br;q=1.5, gzip;q=0.8") == {"gzip": 0.8}
    assert choose("zstd;q=high, gzip", OFFERED) == "gzip"


def test_no_header_means_identity_even_though_any_coding_would_be_allowed() -> None:
    assert choose(None, OFFERED) == "identity"


def test_x_gzip_is_gzip() -> None:
    assert choose("x-gzip", OFFERED) == "gzip"


def test_the_lightest_nonzero_weight_still_beats_nothing() -> None:
    assert choose("gzip;q=0.001", OFFERED) == "gzip"


def test_a_refused_star_with_identity_refused_falls_back_to_identity() -> None:
    assert choose("*;q=0", OFFERED) == "identity"


def test_only_the_offered_codings_are_chosen() -> None:
    assert choose("zstd, gzip", ("gzip",)) == "gzip"
    assert choose("zstd", ("gzip",)) == "identity"
