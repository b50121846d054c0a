"""Page migration on a whole machine: when compaction moves a movable page,
its bytes move with it and every reference follows.

Kernel (Linux 6.12): mm/migrate.c migrate_pages() -> migrate_folio_unmap()
(try_to_migrate(): the reverse map finds every page-table entry that maps
the folio, each is replaced by a migration entry and the TLB flushed),
migrate_folio_move() (folio_copy(), then remove_migration_ptes() points the
entries at the new folio; a page-cache folio's slot in the file's
address_space is replaced, __folio_migrate_mapping()); mm/compaction.c
compact_node() for ``echo 1 > /proc/sys/vm/compact_memory``.

memlab has no reverse map kept up to date on every fault: :func:`compact_node`
builds one (page-table entries and page-cache slots by PFN) before it runs
and keeps it current while pages move. Only the pages memlab allocates as
movable (a process's pages and the page cache) are ever moved.
"""

from __future__ import annotations

from ..units import PAGE_SHIFT, PAGE_SIZE
from .pgtable import Pte

__all__ = ["reverse_map", "compact_node"]


def reverse_map(machine):
    """``{pfn: [(pte_table, index, mm, vaddr), ...]}`` for every present
    user PTE of every process, and ``{pfn: (file, index)}`` for every
    page-cache page (what rmap_walk() and the address_space find)."""
    ptes: dict = {}
    for process in machine.processes.values():
        mm = process.mm
        for (level, prefix), table in mm.pagetables.tables.items():
            if level != 3:
                continue
            for index, pte in table.items():
                if pte.kind in ("anon", "file"):
                    ptes.setdefault(pte.pfn, []).append((table, index, mm, ((prefix << 9) | index) << PAGE_SHIFT))
    cache = {}
    for file in getattr(machine, "cached_files", {}).values():
        for index, pfn in file.page_cache.items():
            cache[pfn] = (file, index)
    return ptes, cache


def compact_node(machine, order: int = -1):
    """Compact every populated zone of ``machine`` (its zones must be
    :class:`memlab.MobilityZone`, ``Machine(mobility=True)``): compact_node()
    for ``order=-1``, else each zone's compaction for a request of that
    order. Moves the bytes of each migrated page, points its page-table
    entries (TLB flushed) and page-cache slot at the new frame. Returns the
    :class:`memlab.page_alloc.CompactionResult` of each zone, by name."""
    from ..errors import MemlabError

    zones = machine.populated_zones
    if not all(hasattr(z, "compact_zone") for z in zones):
        raise MemlabError(
            "compact_memory: this machine's zones keep no migratetypes and cannot compact; "
            "make it with memlab.Machine(..., mobility=True)"
        )
    ptes, cache = reverse_map(machine)
    mem = machine.mem

    def move(old, new, order):
        size = PAGE_SIZE << order
        mem.write(new << PAGE_SHIFT, mem.read(old << PAGE_SHIFT, size))  # folio_copy()
        mem.retire(old, 1 << order)
        for table, index, mm, vaddr in ptes.pop(old, ()):  # remove_migration_ptes()
            pte = table[index]
            table[index] = Pte(new, pte.flags, pte.kind)
            machine.flush_tlb_mm_range(mm, vaddr, vaddr + PAGE_SIZE)
            ptes.setdefault(new, []).append((table, index, mm, vaddr))
        slot = cache.pop(old, None)
        if slot is not None:  # __folio_migrate_mapping(): the file's slot takes the new folio
            slot[0].page_cache[slot[1]] = new
            cache[new] = slot

    results = {}
    for zone in zones:
        zone.migrate_callbacks.append(move)
        try:
            results[zone.name] = zone.compact_zone(order)
        finally:
            zone.migrate_callbacks.remove(move)
    return results
