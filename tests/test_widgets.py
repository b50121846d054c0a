"""Dashboards driven from Python: set .value, click(), assert on the model."""

import pytest

W = pytest.importorskip("ipywidgets")

import memlab  # noqa: E402
from memlab import exercises, procfs  # noqa: E402
from memlab.widgets import BuddyDashboard, ExerciseWidget  # noqa: E402


def test_alloc_button_allocates_in_the_model_and_updates_views():
    d = BuddyDashboard(nr_pages=64)
    png_before = d.image.value
    d.order.value = 2
    d.alloc_button.click()
    assert d.zone.allocated_blocks() == [(0, 2)]
    assert d.zone.nr_free_pages == 60
    assert "alloc_pages(2) -&gt; pfn 0" in d.status.value
    assert bytes(d.image.value) != bytes(png_before) and bytes(d.image.value).startswith(b"\x89PNG")
    assert procfs.buddyinfo(d.zone).strip() in d.buddyinfo.value.replace("&gt;", ">")
    assert "Returned pfn 0" in d.trail.value
    assert [opt[1] for opt in d.block.options] == [memlab.Page(0, 2)]


def test_too_big_order_shows_error_in_status_and_changes_nothing():
    d = BuddyDashboard(nr_pages=64)
    before = procfs.buddyinfo(d.zone)
    d.order.value = 11
    d.alloc_button.click()
    assert "memlab-error" in d.status.value
    assert "exceeds MAX_PAGE_ORDER 10" in d.status.value
    assert procfs.buddyinfo(d.zone) == before
    assert isinstance(d.last_error, memlab.BadOrder)


def test_out_of_memory_is_a_status_line():
    d = BuddyDashboard(nr_pages=16)
    d.order.value = 4
    d.alloc_button.click()
    d.alloc_button.click()
    assert "no free block" in d.status.value and "memlab-error" in d.status.value
    assert len(d.live) == 1


def test_free_chosen_block_merges_back():
    d = BuddyDashboard(nr_pages=32)
    d.order.value = 0
    d.alloc_button.click()
    d.alloc_button.click()
    d.block.value = memlab.Page(1, 0)
    d.free_button.click()
    assert d.zone.allocated_blocks() == [(0, 0)]
    d.block.value = memlab.Page(0, 0)
    d.free_button.click()
    assert "merged up to order 5 at pfn 0" in d.status.value
    assert d.zone.free_area[5].free_list == [0]
    d.free_button.click()  # nothing left
    assert "No live block" in d.status.value


def test_free_random_is_seeded():
    results = []
    for _ in range(2):
        d = BuddyDashboard(nr_pages=64, seed=5)
        for _ in range(6):
            d.alloc_button.click()
        d.free_random_button.click()
        d.free_random_button.click()
        results.append(sorted(d.zone.allocated_blocks()))
    assert results[0] == results[1]
    assert len(results[0]) == 4


def test_workload_and_reset():
    d = BuddyDashboard(nr_pages=1024, seed=3)
    d.ops.value = 500
    d.workload_seed.value = 3
    d.run_button.click()
    assert d.progress.value == 500
    z = memlab.Zone("Normal", 1024)
    expected = memlab.workloads.buddy_v1(z, 500, 3)
    assert sorted(d.zone.allocated_blocks()) == sorted(z.allocated_blocks())
    assert f"{expected.allocs} allocations" in d.status.value
    d.zone.check_invariants()
    d.reset_button.click()
    assert d.zone.nr_free_pages == 1024 and not d.live and not d.block.options


def test_dashboard_on_existing_zone_lists_its_blocks():
    z = memlab.Zone("Normal", 128)
    p = z.alloc_pages(3)
    d = BuddyDashboard(zone=z)
    assert [opt[1] for opt in d.block.options] == [p]
    d.free_button.click()
    assert z.nr_free_pages == 128


def test_exercise_widget_check_and_explain():
    ex = exercises.buddy_of(4)
    w = ExerciseWidget(ex)
    w.explain_button.click()  # no attempt yet: the explanation stays closed
    assert "Answer first" in w.status.value and w.explanation.value == ""
    w.answer.value = "not a number"
    w.check_button.click()
    assert "not a whole number" in w.status.value
    w.explain_button.click()  # an unreadable answer is not an attempt
    assert w.explanation.value == ""
    w.answer.value = str(ex._answer + 1)
    w.check_button.click()
    assert "Not quite" in w.status.value
    w.answer.value = str(ex._answer)
    w.check_button.click()
    assert "Correct" in w.status.value and "memlab-ok" in w.status.value
    w.explain_button.click()
    assert f"Answer: {ex._answer}" in w.explanation.value
    assert isinstance(ex.widget(), ExerciseWidget)


# ------------------------------------------------------------------ slab dashboard
from memlab.widgets import SlabDashboard  # noqa: E402


def test_slab_dashboard_create_alloc_free():
    d = SlabDashboard(seed=2)
    d.name.value = "task_struct"
    d.size.value = 4224
    d.create_button.click()
    cache = d.machine.slub.find_cache("task_struct")
    assert d.cache.value == "task_struct" and "7 per slab of 8 pages" in d.status.value
    free_pages = d.machine.nr_free_pages
    d.alloc_button.click()
    assert cache.objects_in_use == 1 and d.machine.nr_free_pages == free_pages - 8
    assert "a new slab of 8 pages came from the buddy allocator" in d.status.value
    assert "task_struct            7      7   4224    7    8" in d.slabinfo.value
    addr = d.object.value
    d.alloc_button.click()
    d.object.value = addr
    d.free_button.click()
    assert cache.objects_in_use == 1 and addr not in d.objects["task_struct"]
    d.machine.slub.check_invariants()


def test_slab_dashboard_kmalloc_reports_class_and_large():
    d = SlabDashboard()
    d.kmalloc_size.value = 100
    d.kmalloc_button.click()
    assert "from kmalloc-128: ksize 128, 28 bytes wasted" in d.status.value
    assert d.cache.value == "kmalloc-128"
    d.kmalloc_size.value = 20000
    d.kmalloc_button.click()
    assert "whole pages from the buddy allocator (32 KiB)" in d.status.value
    d.kfree_button.click()
    d.kfree_button.click()
    assert d.machine.slub.find_cache("kmalloc-128").objects_in_use == 0
    d.kfree_button.click()
    assert "Nothing from kmalloc" in d.status.value


def test_slab_dashboard_errors_in_status_line():
    d = SlabDashboard()
    d.kmalloc_size.value = 0
    d.kmalloc_button.click()
    assert "memlab-error" in d.status.value and "ZERO_SIZE_PTR" in d.status.value
    d.name.value = "kmalloc-64"
    d.create_button.click()
    assert "already exists" in d.status.value
    d.name.value = "c"
    d.create_button.click()
    d.alloc_button.click()
    d.destroy_button.click()
    assert "Slab cache still has objects" in d.status.value
    assert "c" in d.cache.options
    d.free_random_button.click()
    d.shrink_button.click()
    assert "pages back to the buddy allocator" in d.status.value
    d.destroy_button.click()
    assert "gone" in d.status.value and "c" not in d.cache.options


# ---------------------------------------------------------------- mempool dashboard
from memlab.widgets import MempoolDashboard  # noqa: E402


def test_mempool_dashboard_reserve_sleep_and_wake():
    d = MempoolDashboard(min_nr=2)
    assert d.pool.curr_nr == 2
    d.alloc_button.click()
    assert "from the backing allocator" in d.status.value and d.pool.curr_nr == 2
    d.fault_mode.value = "always"
    d.fault_button.click()
    d.alloc_button.click()
    d.alloc_button.click()
    assert d.pool.curr_nr == 0 and "from the reserve" in d.status.value
    d.gfp.value = "GFP_ATOMIC"
    d.alloc_button.click()
    assert "returned NULL" in d.status.value
    d.gfp.value = "GFP_NOIO"
    d.alloc_button.click()
    assert "sleeps on pool-&gt;wait" in d.status.value and len(d.pool.wait) == 1
    assert "kworker/0:5" in d.state_text.value
    d.free_oldest_button.click()
    assert "woke kworker/0:5" in d.status.value and not d.pool.wait
    assert len(d.held) == 3  # the woken task now holds an element
    d.pool.check_invariants()


def test_mempool_dashboard_every_nth_and_resize_destroy():
    d = MempoolDashboard(min_nr=3)
    d.kind.value = "page pool: order 0"
    d.create_button.click()
    assert d.pool.name == "pages:order-0"
    d.fault_mode.value = "every Nth call"
    d.fault_value.value = 2
    d.fault_button.click()
    for _ in range(4):
        d.alloc_button.click()
    assert d.pool.stats["from_reserve"] == 2 and d.pool.stats["from_backing"] == 2
    d.destroy_button.click()
    assert "memlab-error" in d.status.value and "still handed out" in d.status.value
    while d.held:
        d.free_oldest_button.click()
    d.resize_to.value = 1
    d.resize_button.click()
    assert d.pool.min_nr == 1 and d.pool.curr_nr == 1
    d.destroy_button.click()
    assert "went back to the backing allocator" in d.status.value
    d.alloc_button.click()
    assert "destroyed" in d.status.value


def test_dropdowns_keep_a_selection_after_redraws():
    d = SlabDashboard()
    for _ in range(3):
        d.alloc_button.click()
    d.free_random_button.click()
    assert d.object.value in d.objects["kmalloc-96"]
    d.free_button.click()
    assert "kmem_cache_free(kmalloc-96" in d.status.value
    mp = MempoolDashboard()
    mp.alloc_button.click()
    mp.alloc_button.click()
    assert mp.element.value == 1
    mp.free_button.click()
    assert "mempool_free" in mp.status.value and len(mp.held) == 1


# ------------------------------------------------------------ address-space dashboard
from memlab.widgets import AddressSpaceDashboard  # noqa: E402


def test_address_space_dashboard_walk_fault_and_growth():
    d = AddressSpaceDashboard()
    p = d.process
    counter = p.symbols["counter"][1]
    assert d.address.value == f"{counter:#x}" and "demand paging" in d.status.value
    d.write_button.click()
    assert "major page fault" in d.status.value and p.mm.maj_flt == 1
    d.walk_button.click()
    assert "PGD[170]" in d.status.value and "-&gt; physical" in d.status.value
    assert "VmRSS:\t       4 kB" in d.status_text.value.replace("&#x27;", "'")
    d.address.value = "0x10"
    d.read_button.click()
    assert "SEGV_MAPERR" in d.status.value and "memlab-error" in d.status.value
    rss_before = p.rss_kb
    d.pages.value = 4
    d.mmap_button.click()
    addr = d.mappings[-1][0]
    assert d.address.value == f"{addr:#x}" and p.rss_kb == rss_before
    d.write_button.click()
    assert "minor page fault" in d.status.value and p.rss_kb == rss_before + 4
    d.munmap_button.click()
    assert p.mm.find_vma(addr) is None and p.rss_kb == rss_before
    brk = p.mm.brk
    d.brk_up.click()
    assert p.mm.brk == brk + 4 * 4096 and "[heap]" in d.maps.value
    d.brk_down.click()
    assert p.mm.brk == brk
    d.address.value = "not hex"
    d.walk_button.click()
    assert "is not a number" in d.status.value


def test_address_space_dashboard_pick_list():
    d = AddressSpaceDashboard()
    labels = [label for label, _ in d.pick.options]
    assert "kernel text" in labels and "main (TEXT)" in labels
    d.pick.value = dict(d.pick.options)["kernel: direct map of pfn 1"]
    assert "physical 0x1000" in d.status.value


# ------------------------------------------------------------------- DMA dashboard
from memlab.widgets import DmaDashboard  # noqa: E402


def test_dma_dashboard_handshake_and_transfer():
    d = DmaDashboard()
    d.count.value = 4
    d.program_button.click()
    assert "set_dma_count(2, 4)" in d.status.value
    d.dreq_button.click()
    d.step8_button.click()
    assert d.ctrl.transfers == 1
    assert "state S4" in d.status.value
    d.tc_button.click()
    assert d.ctrl.transfers == 4 and d.ctrl.get_dma_residue(2) == 0 and "3 transfers" in d.status.value
    assert d.machine.mem.read(d.buffer, 4) == b"Hell"
    assert "Hell" in d.memory.value


def test_dma_dashboard_errors_and_bounce():
    d = DmaDashboard()
    d.address.value = "0x2000000"  # 32 MiB: beyond ISA reach
    d.program_button.click()
    assert "16 MiB" in d.status.value and "memlab-error" in d.status.value
    d.address.value = "0xfff8"
    d.count.value = 64
    d.program_button.click()
    assert "64 KiB boundary" in d.status.value
    d.mask.value = 32
    d.map_button.click()
    assert "bounced through swiotlb" in d.api_text.value
    d.map_button.click()
    assert "Unmap the current buffer first" in d.status.value
    d.dev_write_button.click()
    d.sync_button.click()
    d.cpu_read_button.click()
    assert "PACKET FROM NIC!" in d.status.value
    d.unmap_button.click()
    d.cpu_read_button.click()
    assert "Map a buffer first" in d.status.value


def test_address_space_dashboard_reads_maps_addresses_as_hex_and_says_so():
    d = AddressSpaceDashboard()
    start = d.process.mm.start_code  # 0x555555554000: all digits when printed by /proc/pid/maps
    d.address.value = f"{start:x}"
    assert d.address.value.isdigit()
    d.walk_button.click()
    status = d.status.value.replace("&#x27;", "'")
    assert f"read '{start:x}' as hexadecimal" in status and f"= {start:#x}" in status and "(TEXT)" in status
    d.address.value = f"{start:#x}"
    d.walk_button.click()
    assert "as hexadecimal" not in d.status.value


def test_address_space_dashboard_kernel_text_is_mapped_with_2mib_pages():
    d = AddressSpaceDashboard()
    d.pick.value = dict(d.pick.options)["kernel text"]
    status = d.status.value.replace("&gt;", ">")
    assert "PGD[511] PUD[510] PMD[8] + offset 0x0 (2 MiB page) -> physical 0x1000000" in status
    assert "oops" not in status
    d.address.value = "0xffffffff80000000"  # below _text: cleared by cleanup_highmap()
    d.walk_button.click()
    assert "cleanup_highmap()" in d.status.value and "oops" in d.status.value
    d.pick.value = dict(d.pick.options)["kernel: direct map of pfn 1"]
    assert "PUD[0] + offset 0x1000 (1 GiB page)" in d.status.value


def test_address_space_dashboard_walk_below_the_stack_says_it_would_grow():
    d = AddressSpaceDashboard()
    stack = next(v for v in d.process.mm.vmas if v.name == "[stack]")
    start = stack.start
    d.pick.value = dict(d.pick.options)["just below the stack"]
    assert "grows the stack" in d.status.value and "SEGV_MAPERR" not in d.status.value
    assert stack.start == start  # walking changed nothing
    d.read_button.click()
    assert stack.start == start - 4096 and "minor page fault" in d.status.value
    d.address.value = f"{stack.end - (9 << 20):#x}"  # beyond RLIMIT_STACK: no growth
    d.walk_button.click()
    assert "SEGV_MAPERR" in d.status.value


def test_address_space_dashboard_brk_down_on_an_empty_heap_changes_nothing_and_says_so():
    d = AddressSpaceDashboard()
    mm = d.process.mm
    maps = d.maps.value
    d.brk_down.click()
    assert mm.brk == mm.start_brk and "heap is empty" in d.status.value and "memlab-ok" not in d.status.value
    assert d.maps.value == maps
    d.pages.value = 2
    d.brk_up.click()
    d.pages.value = 8
    d.brk_down.click()
    assert mm.brk == mm.start_brk and "moved to start_brk instead" in d.status.value


def test_address_space_dashboard_walk_picture_follows_munmap():
    d = AddressSpaceDashboard()
    d.pages.value = 1
    d.mmap_button.click()
    addr = d.mappings[-1][0]
    d.write_button.click()
    assert d.walk_drawing.result.phys is not None
    before = d.walk_image.value
    d.munmap_button.click()
    assert d.address.value == f"{addr:#x}"
    assert d.walk_drawing.result.phys is None and "SEGV_MAPERR" in d.walk_drawing.result.fault
    assert d.walk_image.value != before


def test_mempool_dashboard_status_agrees_with_the_counters_with_two_sleepers():
    d = MempoolDashboard(min_nr=1)
    d.fault_mode.value = "always"
    d.fault_button.click()
    d.alloc_button.click()  # from the reserve: it is now empty
    d.alloc_button.click()
    d.alloc_button.click()  # two tasks asleep on pool->wait
    assert [w.task for w in d.pool.wait] == ["kworker/0:2", "kworker/0:3"]
    d.free_oldest_button.click()
    status = d.status.value
    assert d.pool.stats["freed_to_reserve"] == 1 and d.pool.stats["freed_to_backing"] == 0
    assert "into the reserve" in status and "backing allocator" not in status
    assert "woke kworker/0:2, who took an element" in status
    assert "kworker/0:3 retried and sleeps again" in status
    assert "freed into reserve 1, freed to backing allocator 0" in d.state_text.value
    d.fault_mode.value = "off"
    d.fault_button.click()
    d.free_oldest_button.click()  # the woken task's element: the reserve is empty, so it refills it
    assert "into the reserve" in d.status.value and "woke kworker/0:3" in d.status.value
    d.free_oldest_button.click()  # reserve full now: back to the backing allocator
    assert "back to the backing allocator" in d.status.value and d.pool.stats["freed_to_backing"] == 1


def test_dma_dashboard_counts_clocks_per_transfer_not_since_creation():
    import re

    d = DmaDashboard()
    figures = {}
    for mode in ("single", "block"):
        d.mode.value = mode
        d.count.value = 8
        d.program_button.click()
        assert "this transfer (since programmed): transfers 0  clocks 0  CPU held off 0" in d.registers.value
        clocks0, held0 = d.ctrl.clocks, d.ctrl.cpu_held_clocks
        d.dreq_button.click()
        d.tc_button.click()
        held, total = map(int, re.search(r"held off the bus for (\d+) of (\d+) clocks", d.status.value).groups())
        assert (held, total) == (d.ctrl.cpu_held_clocks - held0, d.ctrl.clocks - clocks0)
        assert f"transfers 8  clocks {total}  CPU held off {held}" in d.registers.value
        figures[mode] = (held, total)
    # the second transfer's figures are its own: the cumulative counters are larger
    assert d.ctrl.clocks == figures["single"][1] + figures["block"][1]
    assert figures["block"][1] < d.ctrl.clocks


def test_dma_dashboard_sync_says_what_it_did():
    d = DmaDashboard()
    d.mask.value = 64  # the device reaches the buffer: no bounce
    d.coherent.value = True
    d.direction.value = next(k for k in d.direction.options if "FROM" in k)
    d.map_button.click()
    d.sync_button.click()
    assert "nothing to do" in d.status.value and "bounce" in d.status.value and "copied back" not in d.status.value
    d.unmap_button.click()
    d.coherent.value = False
    d.map_button.click()
    d.sync_button.click()
    assert "cache lines" in d.status.value and "copied back" not in d.status.value
    d.unmap_button.click()
    d.mask.value = 32  # a buffer above 4 GiB: bounced
    d.map_button.click()
    d.sync_button.click()
    assert "swiotlb slot" in d.status.value and "copied back" in d.status.value


def test_dashboard_pictures_are_shown_at_natural_size_with_readable_text():
    from matplotlib.text import Text

    from memlab.plots import CSS_DPI, Drawing

    dashboards = [BuddyDashboard(), SlabDashboard(), MempoolDashboard(), AddressSpaceDashboard(), DmaDashboard()]
    dashboards[-1].program_button.click()
    dashboards[-1].dreq_button.click()
    dashboards[-1].tc_button.click()  # the timing diagram with its lane labels and states
    seen = 0
    for dash in dashboards:
        for name, drawing in vars(dash).items():
            if not isinstance(drawing, Drawing):
                continue
            image = next(v for v in vars(dash).values() if isinstance(v, W.Image) and v.value == drawing.png())
            assert image.layout.width == f"{drawing.css_width}px" and image.layout.max_width == "100%"
            assert drawing.css_width <= 700, f"{name}: {drawing.css_width} px is wider than a narrow notebook"
            drawing.fig.canvas.draw()
            sizes = [
                t.get_fontsize()
                for t in drawing.fig.findobj(Text)
                if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
            ]
            smallest_px = min(sizes) * CSS_DPI / 72
            assert smallest_px >= 10, f"{type(dash).__name__}.{name}: smallest text {smallest_px:.1f} CSS px"
            seen += 1
    assert seen == 6


def test_number_fields_refuse_out_of_range_values_instead_of_clamping():
    s = SlabDashboard()
    caches = len(s.machine.slub.caches)
    s.size.value = 99_999_999  # BoundedIntText used to turn this into 1 MiB
    s.create_button.click()
    assert s.size.value == 99_999_999 and "95.4 MiB" in s.status.value and "memlab-error" in s.status.value
    assert len(s.machine.slub.caches) == caches
    s.size.value = 0  # used to become 1
    s.create_button.click()
    assert "size 0 must be an int" in s.status.value and len(s.machine.slub.caches) == caches
    a = AddressSpaceDashboard()
    vmas = len(a.process.mm.vmas)
    a.pages.value = 99_999
    a.mmap_button.click()
    assert "pages 99999 is outside 1..4096" in a.status.value and "nothing changed" in a.status.value
    assert len(a.process.mm.vmas) == vmas and not a.mappings
    m = MempoolDashboard(min_nr=2)
    m.resize_to.value = 0
    m.resize_button.click()
    assert "new min_nr 0 is outside 1..64" in m.status.value and m.pool.min_nr == 2
    d = DmaDashboard()
    d.count.value = 70_000
    d.program_button.click()
    assert "70000 bytes" in d.status.value and "memlab-error" in d.status.value


def test_exercise_widget_choice_and_run_it():
    ex = exercises.why_zero_page(3)
    w = ExerciseWidget(ex)
    assert len(w.answer.options) == 4 and w.answer.value is None
    w.run_button.click()
    assert "Answer first" in w.status.value and w.output.value == ""
    w.check_button.click()
    assert "Pick one of the options" in w.status.value
    wrong = next(i for i in range(4) if i != ex._answer)
    w.answer.value = wrong
    w.check_button.click()
    assert "Not this one" in w.status.value and "Run it" in w.status.value
    w.run_button.click()
    assert "RssAnon" in w.output.value and "4000 kB" in w.output.value
    w.explain_button.click()
    assert "right:" in w.explanation.value and w.explanation.value.count("wrong:") == 3
    numeric = ExerciseWidget(exercises.pgtable_index(1))
    assert numeric.run_button not in numeric.children[1].children  # not a prediction: no Run it


def test_address_space_dashboard_shows_the_tlb_and_a_context_switch():
    d = AddressSpaceDashboard()
    d.write_button.click()
    assert "TLB miss" in d.tlb_text.value and "1 misses" in d.tlb_text.value
    d.read_button.click()
    assert "TLB hit" in d.tlb_text.value and "1 hits" in d.tlb_text.value
    d.switch_button.click()
    assert "1 of the 1 TLB entries of hello survived" in d.status.value  # PCID on
    d.pcid.value = False
    d.read_button.click()
    d.switch_button.click()
    assert "0 of the 1 TLB entries of hello survived" in d.status.value
    assert "PCID off" in d.tlb_text.value
    d.pages.value = 1
    d.mmap_button.click()
    d.write_button.click()
    d.munmap_button.click()
    assert "invlpg page by page" in d.status.value


def test_slab_dashboard_kfree_last_skips_an_object_freed_another_way():
    d = SlabDashboard()
    d.kmalloc_size.value = 100
    d.kmalloc_button.click()
    first = d.kmallocs[-1][0]
    d.kmalloc_button.click()
    last = d.kmallocs[-1][0]
    d._refresh_caches("kmalloc-128")
    d.object.value = last
    d.free_button.click()  # kmem_cache_free of the last kmalloc'ed object, from the object list
    assert "kmem_cache_free" in d.status.value
    d.kfree_button.click()  # "kfree last" now frees the one before, not a double free
    assert f"kfree({first:#x})" in d.status.value and "memlab-error" not in d.status.value
    d.kfree_button.click()
    assert "Nothing from kmalloc to free" in d.status.value


def test_heap_dashboard_says_where_each_chunk_came_from_and_shows_glibcs_messages():
    from memlab.widgets import HeapDashboard

    d = HeapDashboard()
    d.malloc_button.click()
    assert "brk grew the heap by 135,168 bytes" in d.status.value and len(d.live) == 1
    first = d.buffer.value
    d.free_button.click()
    assert "is now: tcache" in d.status.value and not d.live
    d.malloc_button.click()
    assert "from the tcache" in d.status.value and d.buffer.value == first  # last in, first out
    d.free_button.click()
    d.again_button.click()
    assert "double free detected in tcache 2" in d.status.value and "Traceback" not in d.status.value
    d.size.value = 300_000
    d.malloc_button.click()
    assert "its own mmap of 303,104 bytes" in d.status.value and "mmapped chunks: 1" in d.bins.value
    d.new_size.value = 100
    d.realloc_button.click()
    assert "in place" in d.status.value  # an mmapped chunk shrinks in place (mremap)
    d.size.value = 24
    d.malloc_button.click()
    d.overflow_button.click()
    d.malloc_button.click()
    assert "malloc(): corrupted top size" in d.status.value
    d.reset_button.click()
    assert not d.live and "empty heap" in d.status.value and d.libc.top is None
