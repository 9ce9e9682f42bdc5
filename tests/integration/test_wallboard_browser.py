"""The wallboard and reports pages in a real headless Chromium (Debian's `chromium`,
driven by Selenium through `chromedriver`): refused without a login, then live as a
simulated caller arrives and leaves and an agent's phone rings. Screenshots are kept in
test-artifacts/ (ignored by git) for a person to look at."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from sim.endpoints import Endpoint
from tests.conftest import ROOT
from tests.integration.conftest import Rig
from tests.integration.test_web import SECRET, url, web_rig

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_exe = shutil.which("chromedriver")
    if exe is None or driver_exe is None:
        pytest.fail("chromium and chromedriver are needed (.ci/run installs Debian's "
                    "chromium and chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = exe
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(driver_exe))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


async def wait_for(driver: Any, script: str, what: str, timeout: float = 15.0) -> Any:
    """Polls a JavaScript expression in the page (in a thread: the engine keeps running)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await asyncio.to_thread(driver.execute_script, f"return ({script});")
        if value:
            return value
        if loop.time() > deadline:
            shot = ARTIFACTS / "failed.png"
            ARTIFACTS.mkdir(exist_ok=True)
            await asyncio.to_thread(driver.save_screenshot, str(shot))
            raise AssertionError(f"timed out waiting for {what} (screenshot: {shot})")
        await asyncio.sleep(0.2)


async def log_in(driver: Any, rig: Rig, page: str, user: str) -> None:
    from selenium.webdriver.common.by import By

    await asyncio.to_thread(driver.get, url(rig, page))
    assert "/login" in driver.current_url  # refused without a login
    assert driver.find_element(By.ID, "password")
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(SECRET)
    await asyncio.to_thread(driver.find_element(By.ID, "login").click)


QUEUE_CELL = "document.querySelector('#queues tr[data-queue=support] td.waiting')"
AGENT_STATE = "document.querySelector('#agents tr[data-agent=\"{}\"] td.state')"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_supervisor_watches_a_caller_arrive_and_leave(
        acd: Callable[..., Awaitable[Rig]], browser: Any) -> None:
    rig = await web_rig(acd, {"agent1001": Endpoint(answer_after=30.0),
                              "agent1002": Endpoint(answer_after=30.0)})
    await log_in(browser, rig, "/wallboard", "9001")
    await wait_for(browser, "location.pathname === '/wallboard'", "the wallboard after login")
    await wait_for(browser, f"{AGENT_STATE.format('1001')}?.textContent === 'ready'",
                   "agent 1001 shown ready")
    await wait_for(browser, f"{QUEUE_CELL}?.textContent === '0'", "an empty queue")
    ch = rig.call(patience=4.0)
    await wait_for(browser, f"{QUEUE_CELL}?.textContent === '1'", "one caller waiting")
    await wait_for(browser, "[...document.querySelectorAll('#agents td.state')]"
                            ".some(td => td.textContent === 'reserved')", "an agent ringing")
    ARTIFACTS.mkdir(exist_ok=True)
    await asyncio.to_thread(browser.save_screenshot, str(ARTIFACTS / "wallboard.png"))
    assert (ARTIFACTS / "wallboard.png").stat().st_size > 10_000
    await wait_for(browser, f"{QUEUE_CELL}?.textContent === '0'", "the caller gone", 20)
    assert ch.gone
    abandoned = await wait_for(browser, "document.querySelector("
                               "'#queues tr[data-queue=support] td.abandoned')?.textContent",
                               "the abandoned count")
    assert abandoned == "1"
    assert browser.find_element("id", "link").text == "live"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_qa_sees_reports_with_a_chart_and_no_wallboard(
        acd: Callable[..., Awaitable[Rig]], browser: Any) -> None:
    rig = await web_rig(acd, {"agent1001": Endpoint(answer_after=0.5, talk_time=1.0),
                              "agent1002": Endpoint(answer_after=0.5, talk_time=1.0)})
    ch = rig.call()
    from tests.conftest import until
    await until(lambda: ch.gone, 15, "a call to be answered and end")
    await rig.engine.journal.drain()
    await log_in(browser, rig, "/reports", "8001")
    await wait_for(browser, "location.pathname === '/reports'", "the reports page")
    await wait_for(browser, "document.querySelectorAll('#chart rect.answered').length >= 1",
                   "the interval chart")
    offered = await wait_for(browser, "document.querySelector('table[data-report^=intervals] "
                                      "tr:nth-child(2) td:nth-child(3)')?.textContent",
                             "the interval table")
    assert offered == "1"
    assert await asyncio.to_thread(browser.execute_script,
                                   "return document.getElementById('wallboard-link').hidden")
    ARTIFACTS.mkdir(exist_ok=True)
    await asyncio.to_thread(browser.save_screenshot, str(ARTIFACTS / "reports.png"))
    await asyncio.to_thread(browser.get, url(rig, "/wallboard"))
    assert "not open to the qa role" in browser.page_source
