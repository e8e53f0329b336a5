#!/usr/bin/env python3
"""The dashboard and the web wallet in headless Chromium against a running devnet.

The devnet (`smesh devnet up --coinbase stest1qqqqqqqlgfpwap59jlwmre4p9xrlk8fenfnlsrq3gky2c`)
pays every node's rewards to the wallet account of the "abandon ... about" mnemonic. Chromium,
driven through chromedriver (Selenium), then shows:

1. the dashboard at the first node's gateway: the current layer shows and advances, the layer
   timeline has a cell per layer, no error is shown; a screenshot is saved;
2. the wallet page: the mnemonic typed in gives the address `smesh wallet` gives (derived in
   the page: PBKDF2, SLIP-0010, BLAKE3, bech32), the balance becomes positive once rewards
   arrive, the self-spawn signed in the page is accepted by the node, and the account's nonce
   then moves to 1 (the node executed it); a screenshot is saved.

Usage: .ci/web-browser-test.py GATEWAY_URL [OUT_DIR]   (GATEWAY_URL: a node's JSON listener)
Needs chromium and chromium-driver (Debian) and the Python package selenium.
"""
import os
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ABANDON = " ".join(["abandon"] * 11 + ["about"])
# `smesh wallet`'s golden account 0 of that mnemonic (bin/src/wallet/keys.rs).
ADDRESS = "stest1qqqqqqqlgfpwap59jlwmre4p9xrlk8fenfnlsrq3gky2c"


def wait_for(what, check, timeout, driver=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    detail = ""
    if driver is not None:
        err = driver.find_element(By.ID, "error")
        detail = f" (page error line: {err.text!r})" if err.text else ""
    raise SystemExit(f"timed out after {timeout}s waiting for {what}{detail}")


def body_data(driver, name):
    return driver.find_element(By.TAG_NAME, "body").get_attribute(f"data-{name}")


def main():
    gw = sys.argv[1].rstrip("/")
    out = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    start = time.time()
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tempfile.mkdtemp()}")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        # 1. The dashboard: the layer advances.
        driver.get(gw + "/")
        first = int(wait_for("the current layer", lambda: body_data(driver, "current-layer"), 30, driver))
        later = wait_for(
            f"a layer after {first}",
            lambda: (v := body_data(driver, "current-layer")) and int(v) > first and int(v),
            30, driver,
        )
        cells = driver.find_elements(By.CSS_SELECTOR, "#timeline rect.layer")
        drawn = int(driver.find_element(By.ID, "timeline").get_attribute("data-layers"))
        assert len(cells) == drawn and drawn > 0, f"{len(cells)} timeline cells, {drawn} layers"
        assert not driver.find_element(By.ID, "error").text, driver.find_element(By.ID, "error").text
        print(f"dashboard: layer {first} -> {later}, {drawn} timeline cells")

        # 2. The wallet: address, coins, a signed self-spawn, executed.
        driver.get(gw + "/wallet")
        driver.find_element(By.ID, "mnemonic").send_keys(ABANDON)
        driver.find_element(By.ID, "open").click()
        address = wait_for("the wallet address", lambda: body_data(driver, "address"), 30, driver)
        assert address == ADDRESS, f"the page derived {address}, smesh wallet derives {ADDRESS}"
        balance = wait_for(
            "rewards on the wallet account",
            lambda: (b := body_data(driver, "balance")) and int(b) > 0 and int(b),
            300, driver,
        )
        print(f"wallet: {address} holds {balance} smidge")
        driver.find_element(By.CSS_SELECTOR, "#kind option[value=spawn]").click()
        driver.find_element(By.ID, "submit").click()
        submitted = wait_for("the node's answer", lambda: body_data(driver, "submitted"), 30, driver)
        result = driver.find_element(By.ID, "submit-result").text
        assert len(submitted) == 64, f"the self-spawn was not accepted: {result}"
        print(f"wallet: self-spawn accepted, {result}")
        wait_for("the self-spawn to execute (nonce 1)", lambda: body_data(driver, "nonce") == "1", 120, driver)
        driver.save_screenshot(os.path.join(out, "wallet.png"))

        driver.get(gw + "/")
        wait_for("the dashboard again", lambda: body_data(driver, "current-layer"), 30, driver)
        time.sleep(3)  # one more poll, so that every panel is filled
        driver.save_screenshot(os.path.join(out, "dashboard.png"))
        print(f"screenshots in {out}; {time.time() - start:.0f}s")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
