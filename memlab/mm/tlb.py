"""The TLB: each CPU's cache of translations, and how Linux keeps it right.

A page walk costs four memory references (one per level); the TLB keeps
recent translations so that most accesses need none. Linux must remove a
translation whenever it changes a page-table entry: after munmap or
mprotect (``flush_tlb_mm_range()``: one ``invlpg`` per page up to
``tlb_single_page_flush_ceiling`` = 33 pages, else a full flush of the
address space, and an IPI "shootdown" to every other CPU running it), and
on a context switch, when CR3 changes to another process's tables.

With PCID (X86_FEATURE_PCID, on most x86-64 CPUs since 2010 and on this
course's host) entries are tagged with a 12-bit process-context id, so a
switch need not flush: each CPU hands its last ``TLB_NR_DYN_ASIDS`` = 6
address spaces an ASID, written to CR3 as PCID ``asid + 1`` (PCID 0 is for
code that knows nothing of PCIDs); coming back to an address space whose
ASID is still cached and up to date (its ``tlb_gen``) keeps its entries.
With page-table isolation (PTI, on CPUs affected by Meltdown) every system
call switches CR3 between the kernel's and the user's tables: with PCID
the user tables get their own PCID (bit 11 set) and nothing is flushed;
without PCID every system call flushes the TLB.

Kernel: arch/x86/mm/tlb.c (switch_mm_irqs_off(), choose_new_asid(),
flush_tlb_mm_range(), flush_tlb_func(), tlb_single_page_flush_ceiling),
arch/x86/include/asm/tlbflush.h (TLB_NR_DYN_ASIDS, kern_pcid(),
user_pcid()), Linux 6.12; mm/mmu_gather.c for the range that munmap
flushes (only pages that had an entry). The shootdown IPIs appear on a real
machine in /proc/interrupts as "TLB shootdowns".

Simplifications, deliberately: one fully associative TLB level per CPU with
LRU replacement and a chosen capacity (real CPUs have split L1 instruction
and data TLBs, a larger L2 TLB and page-structure caches, with sizes and
policies the vendors do not fully document); 4 KiB user pages only;
kernel entries are global (they survive CR3 switches) without PTI and
tagged with the kernel PCID with PTI (the real kernel keeps a few kernel
text mappings global under PTI); a remote flush happens at once instead of
in an IPI handler; the user-PCID flush that PTI defers to the next return
to user space is done at once; lazy TLB mode for kernel threads is left out;
a copy-on-write fault refills only the faulting CPU's entry (the kernel's
ptep_clear_flush() would also flush the old translation on other CPUs
running the process).
"""

from __future__ import annotations

from collections import OrderedDict, deque

from ..errors import MemlabError, reject
from ..records import Record
from ..units import PAGE_SHIFT

_LOG_LEN = 1024  # records kept in Cpus.log (memory per operation stays O(1))

__all__ = [
    "TLB_NR_DYN_ASIDS",
    "TLB_SINGLE_PAGE_FLUSH_CEILING",
    "X86_CR3_PTI_PCID_USER_BIT",
    "PAGE_WALK_REFS",
    "Tlb",
    "TlbAccess",
    "TlbSwitch",
    "TlbFlush",
    "Cpus",
]

#: arch/x86/include/asm/tlbflush.h: ASIDs each CPU hands out to recent address spaces.
TLB_NR_DYN_ASIDS = 6
#: arch/x86/mm/tlb.c: up to this many pages a range flush uses invlpg page by page.
TLB_SINGLE_PAGE_FLUSH_CEILING = 33
#: With PTI the user tables' PCID is the kernel's with bit 11 set.
X86_CR3_PTI_PCID_USER_BIT = 11
#: Memory references of a 4-level walk (PGD, PUD, PMD, PTE): one per level.
PAGE_WALK_REFS = 4
#: The tag of global entries (kernel mappings without PTI): they match every PCID.
GLOBAL = -1


class TlbAccess(Record):
    """One access through a CPU's TLB: ``hit``, the fault the walk led to
    (``fault``: None, "minor" or "major"), the memory references spent on
    page walks, the PCID the lookup used, and a sentence."""

    __slots__ = ("cpu", "vaddr", "write", "hit", "fault", "walk_refs", "pcid", "text")

    def __init__(self, cpu, vaddr, write, hit, fault, walk_refs, pcid, text):
        self.cpu, self.vaddr, self.write, self.hit = cpu, vaddr, write, hit
        self.fault, self.walk_refs, self.pcid, self.text = fault, walk_refs, pcid, text


class TlbSwitch(Record):
    """A context switch on one CPU: the address space switched to, its
    ASID and PCID, and how many TLB entries the CR3 write dropped."""

    __slots__ = ("cpu", "prev", "next", "asid", "pcid", "flushed", "text")

    def __init__(self, cpu, prev, next, asid, pcid, flushed, text):
        self.cpu, self.prev, self.next, self.asid = cpu, prev, next, asid
        self.pcid, self.flushed, self.text = pcid, flushed, text


class TlbFlush(Record):
    """flush_tlb_mm_range(): the range, how it was flushed ("invlpg" or
    "full"), the CPUs flushed and the IPIs sent (shootdowns)."""

    __slots__ = ("start", "end", "pages", "how", "cpus", "ipis", "dropped", "text")

    def __init__(self, start, end, pages, how, cpus, ipis, dropped, text):
        self.start, self.end, self.pages, self.how = start, end, pages, how
        self.cpus, self.ipis, self.dropped, self.text = cpus, ipis, dropped, text


class Tlb:
    """One CPU's TLB: ``capacity`` entries, fully associative, least recently
    used out first. An entry maps (PCID, virtual page) to (frame, writable);
    global entries match any PCID."""

    def __init__(self, capacity=64):
        if capacity.__class__ is not int or capacity < 1:
            raise reject(MemlabError, capacity, f"TLB capacity {capacity!r} must be an int >= 1")
        self.capacity = capacity
        self.entries: OrderedDict[tuple[int, int], tuple[int, bool]] = OrderedDict()
        self.hits = self.misses = self.walk_refs = 0

    def __len__(self):
        return len(self.entries)

    def lookup(self, pcid, vpn):
        """The (frame, writable) cached for ``vpn`` under ``pcid``, or None."""
        for key in ((pcid, vpn), (GLOBAL, vpn)):
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
                return entry
        return None

    def fill(self, pcid, vpn, pfn, writable):
        """Cache a translation, evicting the least recently used entry when full."""
        key = (pcid, vpn)
        self.entries[key] = (pfn, writable)
        self.entries.move_to_end(key)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)

    def flush_pcid(self, pcid):
        """MOV to CR3 without the no-flush bit: drop the non-global entries
        of ``pcid`` (all non-global entries when PCIDs are off, ``pcid``
        None). Returns how many were dropped."""
        drop = [k for k in self.entries if k[0] != GLOBAL and (pcid is None or k[0] == pcid)]
        for key in drop:
            del self.entries[key]
        return len(drop)

    def invlpg(self, pcid, vpn):
        """INVLPG: drop the entry of one page (for ``pcid`` and global). Returns 0 or 1."""
        dropped = 0
        for key in ((pcid, vpn), (GLOBAL, vpn)):
            if self.entries.pop(key, None) is not None:
                dropped += 1
        return dropped


class _Cpu:
    """arch/x86 cpu_tlbstate of one CPU: the loaded address space and ASID,
    the next ASID to hand out, and per ASID the context and its tlb_gen."""

    def __init__(self, number, capacity):
        self.number = number
        self.tlb = Tlb(capacity)
        # initialize_tlbstate_and_flush(): the boot address space (init_mm) holds ASID 0, next_asid is 1
        self.loaded_mm = None
        self.loaded_asid = 0
        self.next_asid = 1
        self.ctxs = [("init_mm", 0)] + [(None, 0)] * (TLB_NR_DYN_ASIDS - 1)  # (mm, tlb_gen)
        self.ipis = 0


class Cpus:
    """The CPUs of a machine as far as address translation goes: a TLB per
    CPU, the address space each runs, and the kernel's flushing rules.

    ``Cpus(machine, pcid=True, pti=False, capacity=64)``. :meth:`switch_to`
    runs a process on a CPU (a context switch), :meth:`access` is a ring-3
    load or store through the TLB, :meth:`syscall` enters and leaves the
    kernel, and the model calls :meth:`flush_tlb_mm_range` when munmap,
    brk or mprotect change page-table entries. ``log`` keeps the last 1,024
    records, oldest first; ``nr_records`` counts every record made.
    """

    def __init__(self, machine, pcid=True, pti=False, capacity=64):
        self.machine = machine
        self.pcid = bool(pcid)
        self.pti = bool(pti)
        self.cpus = [_Cpu(n, capacity) for n in range(machine.cpus)]
        self.log: deque = deque(maxlen=_LOG_LEN)
        self.nr_records = 0

    # ------------------------------------------------------------ helpers
    def _cpu(self, n):
        if n.__class__ is not int or not 0 <= n < len(self.cpus):
            raise reject(MemlabError, n, f"CPU {n!r} does not exist: this machine has CPUs 0..{len(self.cpus) - 1}")
        return self.cpus[n]

    def tlb(self, cpu=0):
        """The :class:`Tlb` of ``cpu``."""
        return self._cpu(cpu).tlb

    def kern_pcid(self, asid):
        """arch/x86 kern_pcid(): ASID + 1 with PCID, 0 without."""
        return asid + 1 if self.pcid else 0

    def user_pcid(self, asid):
        """user_pcid(): the kernel PCID with bit 11 set, for PTI's user tables."""
        return self.kern_pcid(asid) | (1 << X86_CR3_PTI_PCID_USER_BIT) if self.pcid and self.pti else None

    def user_tag(self, cpu=0):
        """The PCID a ring-3 access on ``cpu`` is looked up under now."""
        return self._user_tag(self._cpu(cpu))

    def _user_tag(self, cpu):
        """The PCID a ring-3 access is looked up under."""
        if not self.pcid:
            return 0
        return self.user_pcid(cpu.loaded_asid) if self.pti else self.kern_pcid(cpu.loaded_asid)

    def _record(self, rec):
        self.log.append(rec)
        self.nr_records += 1
        return rec

    # --------------------------------------------------------- switch_mm
    def switch_to(self, process, cpu=0):
        """Run ``process`` on ``cpu``: switch_mm_irqs_off(). With PCID,
        choose_new_asid() reuses the ASID that still holds this address
        space (no flush if its tlb_gen is current) or takes the next one
        round-robin and flushes it; without PCID the CR3 write flushes every
        non-global entry. Returns a :class:`TlbSwitch`."""
        c = self._cpu(cpu)
        mm = process.mm
        prev = c.loaded_mm
        if prev is mm:
            return self._record(
                TlbSwitch(
                    cpu,
                    process.name,
                    process.name,
                    c.loaded_asid,
                    self._user_tag(c),
                    0,
                    "same address space: CR3 unchanged",
                )
            )
        if prev is not None:
            prev.cpumask.discard(cpu)
        mm.cpumask.add(cpu)
        c.loaded_mm = mm
        prev_name = getattr(prev, "owner_comm", "none")
        if not self.pcid:
            dropped = c.tlb.flush_pcid(None)
            c.loaded_asid = 0
            text = (
                f"CPU {cpu}: switch to {process.name}: CR3 <- its PGD; without PCID the write flushes every "
                f"non-global entry ({dropped} dropped)"
            )
            return self._record(TlbSwitch(cpu, prev_name, process.name, 0, 0, dropped, text))
        asid = next((a for a, (m, _gen) in enumerate(c.ctxs) if m is mm), None)
        if asid is not None:
            stale = c.ctxs[asid][1] < mm.tlb_gen
            need_flush = stale
            why = f"ASID {asid} still holds {process.name}" + (
                ", but its page tables changed since (tlb_gen): flush that PCID" if stale else ": no flush"
            )
        else:  # this_cpu_add_return(next_asid, 1) - 1, wrapping to 0 past the last ASID
            asid = c.next_asid
            c.next_asid += 1
            if asid >= TLB_NR_DYN_ASIDS:
                asid, c.next_asid = 0, 1
            need_flush = True
            old = c.ctxs[asid][0]
            evicted = f", taking it from {getattr(old, 'owner_comm', old)}" if old is not None else ""
            why = f"new ASID {asid}{evicted}: flush that PCID"
        dropped = 0
        if need_flush:
            dropped = c.tlb.flush_pcid(self.kern_pcid(asid))
            if self.pti:
                dropped += c.tlb.flush_pcid(self.user_pcid(asid))
        c.ctxs[asid] = (mm, mm.tlb_gen)
        c.loaded_asid = asid
        pcid = self.kern_pcid(asid)
        text = f"CPU {cpu}: switch to {process.name}: CR3 <- its PGD with PCID {pcid}; {why} ({dropped} dropped)"
        return self._record(TlbSwitch(cpu, prev_name, process.name, asid, pcid, dropped, text))

    # ------------------------------------------------------------ access
    def access(self, process, vaddr, write=False, cpu=0):
        """A ring-3 load (or store) by ``process`` on ``cpu``: the TLB
        first; on a miss the page walk (:data:`PAGE_WALK_REFS` memory
        references) and, if the entry is missing or forbids the access, a
        page fault (``process.touch``), after which the access restarts
        and walks again. Returns a :class:`TlbAccess`."""
        c = self._cpu(cpu)
        if c.loaded_mm is not process.mm:
            raise MemlabError(
                f"{process.name} is not running on CPU {cpu}: call switch_to({process.name}, cpu={cpu}) first"
            )
        vpn = vaddr >> PAGE_SHIFT
        tag = self._user_tag(c)
        tlb = c.tlb
        entry = tlb.lookup(tag, vpn)
        if entry is not None and (entry[1] or not write):
            tlb.hits += 1
            text = f"TLB hit (PCID {tag}): frame {entry[0]}, no page walk"
            return self._record(TlbAccess(cpu, vaddr, write, True, None, 0, tag, text))
        tlb.misses += 1
        refs = PAGE_WALK_REFS
        kind = process.touch(vaddr, write=write)  # SegmentationFault propagates: no entry is cached
        fault = None if kind == "hit" else kind
        if fault is not None:
            refs += PAGE_WALK_REFS  # the faulting access restarts and walks again
        pte = process.mm.lookup_pte(vaddr & ~0xFFF)
        tlb.fill(tag, vpn, pte.pfn, bool(pte.flags & 0x2))
        tlb.walk_refs += refs
        if entry is not None:
            how = "TLB hit on a read-only entry: the store faults"
        else:
            how = "TLB miss: page walk"
        text = (
            f"{how} ({PAGE_WALK_REFS} memory references)"
            + (f", {fault} page fault, the access restarts and walks again" if fault else "")
            + f"; the translation is cached under PCID {tag} ({len(tlb)} of {tlb.capacity} entries)"
        )
        return self._record(TlbAccess(cpu, vaddr, write, False, fault, refs, tag, text))

    # ----------------------------------------------------------- syscall
    def syscall(self, cpu=0):
        """Enter and leave the kernel on ``cpu`` (a system call). Without
        PTI nothing happens to the TLB (the kernel is mapped in every
        process's tables). With PTI the entry code switches CR3 to the
        kernel's tables and back: with PCID under separate PCIDs, no flush;
        without PCID each switch flushes every non-global entry."""
        c = self._cpu(cpu)
        if not self.pti:
            return (
                "no PTI: the kernel half is in the process's own tables, CR3 does not change, the TLB keeps everything"
            )
        if self.pcid:
            k, u = self.kern_pcid(c.loaded_asid), self.user_pcid(c.loaded_asid)
            return (
                f"PTI with PCID: entry switches CR3 to the kernel tables (PCID {k}), exit back to the user tables "
                f"(PCID {u}), both with the no-flush bit: the TLB keeps its entries"
            )
        dropped = c.tlb.flush_pcid(None)
        return (
            f"PTI without PCID: entry and exit each write CR3 and flush every non-global entry "
            f"({dropped} dropped): the process starts over with an empty TLB"
        )

    # ------------------------------------------------------------ flushes
    def flush_tlb_mm_range(self, mm, start, end, initiator=None):
        """flush_tlb_mm_range(): bump the address space's tlb_gen; on every
        CPU running it, invlpg each page (up to 33 pages) or flush the whole
        PCID; every such CPU other than the initiator gets an IPI. CPUs that
        only cache the address space under an idle ASID catch up when they
        switch back to it (their tlb_gen is behind). Returns a
        :class:`TlbFlush`, or None for an empty range."""
        if end <= start:
            return None
        mm.tlb_gen += 1
        pages = (end - start) >> PAGE_SHIFT
        full = pages > TLB_SINGLE_PAGE_FLUSH_CEILING
        running = sorted(mm.cpumask)
        if initiator is None:
            initiator = running[0] if running else None
        dropped = ipis = 0
        for n in running:
            c = self.cpus[n]
            tags = [self.kern_pcid(c.loaded_asid)]
            if self.pti and self.pcid:
                tags.append(self.user_pcid(c.loaded_asid))
            if full:
                for tag in tags:
                    dropped += c.tlb.flush_pcid(tag if self.pcid else None)
            else:
                for vpn in range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
                    for tag in tags:
                        dropped += c.tlb.invlpg(tag, vpn)
            c.ctxs[c.loaded_asid] = (mm, mm.tlb_gen)
            if n != initiator:
                c.ipis += 1
                ipis += 1
        how = "full" if full else "invlpg"
        text = (
            f"flush_tlb_mm_range({start:#x}, {end:#x}): {pages} page{'s' if pages != 1 else ''} "
            + (
                f"> {TLB_SINGLE_PAGE_FLUSH_CEILING}: flush the whole address space"
                if full
                else f"<= {TLB_SINGLE_PAGE_FLUSH_CEILING}: invlpg page by page"
            )
            + f" on CPU {', '.join(map(str, running)) or '(none running it)'}"
            + (f"; {ipis} IPI (TLB shootdown) to the other CPU{'s' if ipis > 1 else ''}" if ipis else "")
            + f"; {dropped} entr{'y' if dropped == 1 else 'ies'} dropped"
        )
        return self._record(TlbFlush(start, end, pages, how, running, ipis, dropped, text))
