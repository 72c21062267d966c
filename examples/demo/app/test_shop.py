"""The demo shop's unit tests (pytest). The demo runs them for each release
and gates the release on their JUnit report."""
import pytest

import shop


def test_subtotal_of_the_sample_basket():
    assert shop.subtotal(shop.BASKET) == 69.0


def test_quote_adds_the_payment_fee():
    assert shop.quote(shop.BASKET, {"fee_rate": "0.02"}, set()) == {
        "subtotal": 69.0, "fee": 1.38, "total": 70.38, "currency": "CNY"}


def test_default_fee_rate_is_one_percent():
    assert shop.payment_fee(100.0, {}, set()) == 1.0


def test_conf_ignores_comments_and_blank_lines(tmp_path):
    conf = tmp_path / "shop.conf"
    conf.write_text("# payments\n\npayments = sandbox\nfee_rate_sandbox=0.03\n")
    assert shop.read_conf(str(conf)) == {"payments": "sandbox", "fee_rate_sandbox": "0.03"}


@pytest.mark.parametrize("rate, fee", [("0.03", 2.07), ("0", 0.0)])
def test_new_checkout_prices_with_the_gateway_rate(rate, fee):
    # Written with the sandbox settings of the test environment.
    conf = {"payments": "sandbox", "fee_rate_sandbox": rate}
    assert shop.payment_fee(69.0, conf, {"new-checkout"}) == fee
