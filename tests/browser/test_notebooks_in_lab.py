"""Every notebook runs clean in real JupyterLab; the dashboard reacts to clicks."""

import re
from pathlib import Path

import pytest

from .conftest import REPO, run_notebook, screenshot

NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))


def open_dashboard(page, lab, notebook, button_text):
    """Run ``notebook`` in JupyterLab; return (button, dashboard, status) of
    the first widget box holding a button with ``button_text``."""
    run_notebook(page, lab, notebook)
    button = page.locator(".jupyter-widgets.widget-button", has_text=button_text).first
    dashboard = page.locator(".widget-vbox", has=button).first
    dashboard.scroll_into_view_if_needed()
    return button, dashboard, dashboard.locator(".memlab-status").first


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_without_errors(page, lab, name):
    shot = run_notebook(page, lab, name)
    assert shot.exists() and shot.stat().st_size > 10_000


def test_buddy_dashboard_click_changes_what_is_shown(page, lab):
    from playwright.sync_api import expect

    run_notebook(page, lab, "02_buddy_allocator.ipynb")
    dashboard = page.locator(
        ".widget-vbox", has=page.locator(".jupyter-widgets.widget-button", has_text="alloc_pages")
    ).first
    dashboard.scroll_into_view_if_needed()
    status = dashboard.locator(".memlab-status").first
    summary = dashboard.get_by_text(re.compile(r"pages free")).first
    image = dashboard.locator(".widget-image").first
    expect(summary).to_contain_text("1024 of 1024 pages free")
    src_before = image.get_attribute("src")
    dashboard.locator(".jupyter-widgets.widget-button", has_text="alloc_pages").click()
    expect(status).to_have_text(re.compile(r"alloc_pages\(0\) -> pfn 0 \(4 KiB\)"))
    expect(summary).to_contain_text("1023 of 1024 pages free")
    assert image.get_attribute("src") != src_before
    # an impossible request ends in the status line, not in a traceback
    dashboard.locator("select").first.select_option(label="11  (8 MiB: too big)")
    dashboard.locator(".jupyter-widgets.widget-button", has_text="alloc_pages").click()
    expect(status).to_contain_text("exceeds MAX_PAGE_ORDER 10")
    screenshot(page, "02_buddy_allocator_dashboard")


def test_exercise_widget_checks_in_the_browser(page, lab):
    from playwright.sync_api import expect

    run_notebook(page, lab, "00_start_here.ipynb")
    import memlab

    answer = memlab.exercises.buddy_of(seed=1)._answer
    box = page.locator(".widget-vbox", has=page.get_by_text("Exercise (buddy_of, seed 1)")).last
    box.scroll_into_view_if_needed()
    box.locator("input[type='text']").fill(str(answer))
    box.locator(".jupyter-widgets.widget-button", has_text="Check").click()
    expect(box.locator(".memlab-status")).to_contain_text(f"Correct: {answer}")
    assert Path(screenshot(page, "00_start_here_exercise")).exists()


def test_why_question_explains_a_pick_and_runs_the_simulation(page, lab):
    from playwright.sync_api import expect

    run_notebook(page, lab, "02_buddy_allocator.ipynb")
    import memlab

    ex = memlab.exercises.why_large_request_fails(seed=1)
    box = page.locator(".widget-vbox", has=page.get_by_text("Exercise (why_large_request_fails, seed 1)")).last
    box.scroll_into_view_if_needed()
    status = box.locator(".memlab-status").first
    box.locator(".jupyter-widgets.widget-button", has_text="Run it").click()
    expect(status).to_contain_text("Answer first")  # no peeking before an answer
    wrong = next(i for i in range(4) if i != ex._answer)
    box.locator("input[type='radio']").nth(wrong).check()
    box.locator(".jupyter-widgets.widget-button", has_text="Check").click()
    expect(status).to_contain_text("Not this one")
    expect(status).to_contain_text(ex.options[wrong][1][:40])
    box.locator(".jupyter-widgets.widget-button", has_text="Run it").click()
    expect(box).to_contain_text("external fragmentation")
    screenshot(page, "02_buddy_allocator_why")


def test_slab_dashboard_click_changes_what_is_shown(page, lab):
    from playwright.sync_api import expect

    button, dashboard, status = open_dashboard(page, lab, "03_slab_allocator.ipynb", "kmem_cache_alloc")
    image = dashboard.locator(".widget-image").first
    src_before = image.get_attribute("src")
    button.click()
    expect(status).to_have_text(re.compile(r"kmem_cache_alloc\(kmalloc-96\) -> 0xffff8880"))
    expect(dashboard).to_contain_text("kmalloc-96            42     42     96   42    1")
    assert image.get_attribute("src") != src_before
    dashboard.locator("input[type='number']").last.fill("0")
    dashboard.locator(".jupyter-widgets.widget-button", has_text=re.compile(r"^kmalloc$")).click()
    expect(status).to_contain_text("ZERO_SIZE_PTR")
    screenshot(page, "03_slab_allocator_dashboard")


def test_mempool_dashboard_click_changes_what_is_shown(page, lab):
    from playwright.sync_api import expect

    button, dashboard, status = open_dashboard(page, lab, "04_memory_pools.ipynb", "mempool_alloc")
    image = dashboard.locator(".widget-image").first
    src_before = image.get_attribute("src")
    button.click()
    expect(status).to_contain_text("from the backing allocator")
    assert image.get_attribute("src") != src_before
    dashboard.locator("select", has=page.locator("option", has_text="every Nth call")).select_option(label="always")
    dashboard.locator(".jupyter-widgets.widget-button", has_text="apply faults").click()
    for _ in range(5):
        button.click()
    expect(status).to_contain_text("sleeps on pool->wait")
    screenshot(page, "04_memory_pools_dashboard")


def test_address_space_dashboard_click_changes_what_is_shown(page, lab):
    from playwright.sync_api import expect

    button, dashboard, status = open_dashboard(page, lab, "01_address_space.ipynb", "write (ring 3)")
    expect(status).to_contain_text("demand paging")
    button.click()
    expect(status).to_contain_text("major page fault")
    expect(dashboard).to_contain_text("RssFile:")
    dashboard.locator("input[type='text']").first.fill("0xffff888000001000")
    dashboard.locator(".jupyter-widgets.widget-button", has_text="read (ring 3)").click()
    expect(status).to_contain_text("SEGV_MAPERR")  # do_kern_addr_fault() -> bad_area_nosemaphore()
    screenshot(page, "01_address_space_dashboard")


def test_dma_dashboard_click_changes_what_is_shown(page, lab):
    from playwright.sync_api import expect

    run_notebook(page, lab, "05_dma.ipynb")
    button = page.locator(".jupyter-widgets.widget-button", has_text="program channel").first
    dashboard = page.locator(
        ".widget-vbox", has=page.locator(".jupyter-widgets.widget-button", has_text="dma_unmap_single")
    ).first
    dashboard.scroll_into_view_if_needed()
    status = dashboard.locator(".memlab-status").first
    button.click()
    expect(status).to_contain_text("set_dma_count(2, 8)")
    dashboard.locator(".jupyter-widgets.widget-button", has_text="device raises DREQ").click()
    dashboard.locator(".jupyter-widgets.widget-button", has_text="step 8 clocks").click()
    expect(status).to_contain_text("state S4")
    dashboard.locator(".jupyter-widgets.widget-button", has_text="run to TC").click()
    expect(dashboard).to_contain_text("Hello fr")
    screenshot(page, "05_dma_dashboard")


def test_heap_dashboard_click_changes_what_is_shown(page, lab):
    from playwright.sync_api import expect

    button, dashboard, status = open_dashboard(page, lab, "06_usage_scenarios.ipynb", "free it again")
    malloc = dashboard.locator(".jupyter-widgets.widget-button", has_text="malloc").first
    malloc.click()
    expect(status).to_contain_text("brk grew the heap by 135,168 bytes")
    malloc.click()
    dashboard.locator(".jupyter-widgets.widget-button", has_text="free").first.click()
    expect(status).to_contain_text("is now: tcache")
    expect(dashboard).to_contain_text("tcache (chunk size: count): 32: 1")
    button.click()
    expect(status).to_contain_text("double free detected in tcache 2")
    screenshot(page, "06_usage_scenarios_dashboard")


def test_pitfall_dashboard_runs_a_pitfall_and_its_fix(page, lab):
    from playwright.sync_api import expect

    button, dashboard, status = open_dashboard(page, lab, "07_pitfalls.ipynb", "run the fixed program")
    expect(status).to_contain_text("heap-use-after-free at line 13")
    expect(dashboard).to_contain_text("previously allocated by thread T0 here:")
    button.click()
    expect(status).to_contain_text("ran clean")
    expect(dashboard).to_contain_text("std::make_unique<Node>")
    dashboard.locator("select").first.select_option(
        label="data_race: two threads increment a shared counter without a lock"
    )
    dashboard.locator(".jupyter-widgets.widget-button", has_text="run the faulty program").click()
    expect(status).to_contain_text("data race at line 10")
    expect(dashboard).to_contain_text("WARNING: ThreadSanitizer: data race")
    screenshot(page, "07_pitfalls_dashboard")


def test_monitor_dashboard_fills_and_drops_the_page_cache(page, lab):
    from playwright.sync_api import expect

    button, dashboard, status = open_dashboard(page, lab, "08_monitoring.ipynb", "drop_caches 3")
    dashboard.locator(".jupyter-widgets.widget-button", has_text="read the file").click()
    expect(status).to_contain_text("read 4 MiB of the file")
    expect(dashboard).to_contain_text("(+4,096 kB)")
    button.click()
    expect(status).to_contain_text("1025 pages freed")
    expect(dashboard).to_contain_text("buff/cache")
    screenshot(page, "08_monitoring_dashboard")


def test_mobility_dashboard_allocates_frees_and_compacts(page, lab):
    from playwright.sync_api import expect

    _, dashboard, status = open_dashboard(page, lab, "02b_fighting_fragmentation.ipynb", "compact")
    count = dashboard.locator("input").first
    count.fill("2000")
    count.press("Enter")
    dashboard.locator(".jupyter-widgets.widget-button", has_text="allocate").first.click()
    expect(status).to_contain_text("2000 order-0 blocks of type Movable", timeout=30_000)
    dashboard.locator(".jupyter-widgets.widget-button", has_text="free half the movable blocks").click()
    expect(status).to_contain_text("1000 movable blocks freed", timeout=30_000)
    dashboard.locator(".jupyter-widgets.widget-button", has_text="compact").first.click()
    expect(status).to_contain_text("COMPACT_COMPLETE", timeout=30_000)
    expect(dashboard).to_contain_text("Page block order: 9")
    screenshot(page, "02b_mobility_dashboard")
