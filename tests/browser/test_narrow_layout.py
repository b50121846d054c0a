"""At 1024x768 with JupyterLab's file browser open (its default), every
dashboard's controls stay readable: no button or label is cut to "pro...",
and no text overlaps another (the layout wraps instead)."""

import pytest

from .conftest import assert_no_errors, open_notebook, run_all, screenshot

#: (notebook, text of a button that identifies its dashboard or exercise)
WIDGET_NOTEBOOKS = [
    ("00_start_here.ipynb", "Check"),
    ("01_address_space.ipynb", "write (ring 3)"),
    ("02_buddy_allocator.ipynb", "alloc_pages"),
    ("02b_fighting_fragmentation.ipynb", "free half the movable blocks"),
    ("03_slab_allocator.ipynb", "kmem_cache_create"),
    ("04_memory_pools.ipynb", "mempool_alloc"),
    ("05_dma.ipynb", "dma_unmap_single"),
    ("06_usage_scenarios.ipynb", "write 8 bytes past the end"),
    ("07_pitfalls.ipynb", "run the fixed program"),
    ("08_monitoring.ipynb", "drop_caches 3"),
]

# Every visible control and text block of every widget output: cut text and
# overlapping boxes, as the student would see them.
_CHECK = """
() => {
  const visible = (e) => e.offsetParent !== null && e.getClientRects().length > 0;
  const name = (e) => (e.textContent || e.value || e.tagName).trim().slice(0, 40);
  const problems = [];
  const outputs = document.querySelectorAll('.jp-OutputArea-output');
  for (const out of outputs) {
    if (!out.querySelector('.jupyter-widgets')) continue;
    for (const e of out.querySelectorAll('button.jupyter-widgets, .widget-label, .widget-checkbox label')) {
      if (visible(e) && e.scrollWidth > e.clientWidth + 1)
        problems.push(`cut: "${name(e)}" needs ${e.scrollWidth} px, has ${e.clientWidth}`);
    }
    const leaves = [...out.querySelectorAll(
      'button.jupyter-widgets, .widget-label, .widget-checkbox, select, input, pre, .widget-image, .widget-html-content'
    )].filter(visible);
    const boxes = leaves.map((e) => [e, e.getBoundingClientRect()]);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, ra] = boxes[i], [b, rb] = boxes[j];
        if (a.contains(b) || b.contains(a)) continue;
        const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (w > 2 && h > 2)
          problems.push(`overlap: "${name(a)}" and "${name(b)}" (${w.toFixed(0)}x${h.toFixed(0)} px)`);
      }
    }
    for (const p of out.querySelectorAll('pre')) {
      // a pre that does not wrap must scroll, not run under its neighbour
      const box = p.parentElement.getBoundingClientRect();
      if (visible(p) && p.getBoundingClientRect().right > box.right + 1)
        problems.push(`spills: "${name(p)}" past its panel`);
    }
  }
  return problems;
}
"""


@pytest.mark.parametrize("name,button_text", WIDGET_NOTEBOOKS)
def test_widgets_are_readable_at_1024_px(page, lab, name, button_text):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_notebook(page, lab, name)
    assert page.locator(".jp-FileBrowser").first.is_visible()  # the default: file browser open
    run_all(page)
    assert_no_errors(page)
    button = page.locator("button.jupyter-widgets", has_text=button_text).first
    button.scroll_into_view_if_needed()
    problems = page.evaluate(_CHECK)
    screenshot(page, name.replace(".ipynb", "_at_1024"))
    assert not problems, f"{name} at 1024 px:\n" + "\n".join(sorted(set(problems)))
