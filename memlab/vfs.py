"""The caches a file system leaves in memory: dentries, inodes and metadata blocks.

Looking a file up (``open()``, ``Machine.create_file()``) allocates, as
fs/dcache.c d_alloc() and an ext4 iget() do, a ``dentry`` (192 bytes) and an
``ext4_inode_cache`` object (1128 bytes; the sizes are this machine's, from
its /proc/slabinfo), both in slab caches made with SLAB_RECLAIM_ACCOUNT, so
they count in ``SReclaimable``; reading the inode reads the block of the
inode table that holds it into the block device's own page cache, which
/proc/meminfo reports as ``Buffers`` (nr_blockdev_pages()).

``echo 2 > /proc/sys/vm/drop_caches`` (drop_slab(): the dcache and icache
shrinkers) frees the dentries no one uses (no open descriptor, no mapping)
and the inodes left with no dentry and no page in the page cache, then the
slabs left empty; ``echo 1`` drops the block device's clean pages as it
drops clean file pages.

Simplified (said in lesson 08): one directory level (no parent dentries,
no negative dentries), ext4 with 256-byte inodes, 16 to a 4 KiB block of
the inode table, ``inode number - 1`` its slot; the inode and dentry
caches are shrunk only by drop_caches (memory pressure is issue 17's).
"""

from __future__ import annotations

from .slub.geometry import SLAB_RECLAIM_ACCOUNT

__all__ = ["Vfs", "DENTRY_SIZE", "INODE_SIZE", "INODES_PER_BLOCK"]

DENTRY_SIZE = 192
INODE_SIZE = 1128
INODES_PER_BLOCK = 16


class Vfs:
    """The dentry and inode caches and the block device's page cache of a
    :class:`memlab.Machine` (``machine.vfs``)."""

    def __init__(self, machine):
        self.machine = machine
        self._caches = None
        self.dentries: dict[int, int] = {}  # id(file) -> dentry object address
        self.inodes: dict[int, int] = {}  # id(file) -> inode object address
        self.files: dict[int, object] = {}  # id(file) -> file, for every file looked up
        self.blocks: dict[int, int] = {}  # inode-table block -> pfn (the block device's page cache)

    @property
    def caches(self):
        """(dentry cache, inode cache), made on the first lookup (so a
        machine that never touches a file shows neither in slabinfo)."""
        if self._caches is None:
            m = self.machine
            self._caches = (
                m.kmem_cache_create("dentry", DENTRY_SIZE, flags=SLAB_RECLAIM_ACCOUNT),
                m.kmem_cache_create("ext4_inode_cache", INODE_SIZE, flags=SLAB_RECLAIM_ACCOUNT),
            )
        return self._caches

    def lookup(self, file):
        """Path walk to ``file``: its dentry and inode come from the caches
        if they are there, else they are allocated (and the inode's block
        of the inode table read into the block device's cache)."""
        key = id(file)
        if key in self.dentries:
            return
        m = self.machine
        if file.inode is None:
            file.inode = m.alloc_inode()
        dcache, icache = self.caches
        self.files[key] = file
        self.dentries[key] = m.kmem_cache_alloc(dcache)
        if key not in self.inodes:  # iget(): not in the inode cache, read it
            self.inodes[key] = m.kmem_cache_alloc(icache)
            block = (file.inode - 1) // INODES_PER_BLOCK
            if block not in self.blocks:
                self.blocks[block] = m.alloc_pages(0, "GFP_NOFS").pfn
                m.vm_events["pgpgin"] += 4  # the 4 KiB block read from disk

    @property
    def buffers(self):
        """Pages of the block device's page cache (``Buffers``)."""
        return len(self.blocks)

    def _in_use(self):
        """id()s of the files open in a process or mapped by one."""
        used = set()
        for p in self.machine.processes.values():
            used.update(id(of.file) for of in p.sys.fds.values())
            used.update(id(v.file) for v in p.mm.vmas if v.file is not None)
        return used

    def shrink(self):
        """The dcache and icache shrinkers of drop_slab(): unused dentries,
        then inodes with no dentry and no cached page. Returns the objects
        freed; the slabs they leave empty go back with kmem_cache_shrink()."""
        m, used = self.machine, self._in_use()
        dcache, icache = self.caches if self._caches is not None else (None, None)
        freed = 0
        for key in [k for k in self.dentries if k not in used]:
            m.kmem_cache_free(dcache, self.dentries.pop(key))
            freed += 1
        for key in [k for k in self.inodes if k not in self.dentries and not self.files[k].page_cache]:
            m.kmem_cache_free(icache, self.inodes.pop(key))
            del self.files[key]
            freed += 1
        if dcache is not None:
            m.kmem_cache_shrink(dcache)
            m.kmem_cache_shrink(icache)
        return freed

    def unused_counts(self):
        """(unused dentries, unused inodes): what super_cache_count() reports
        to the shrinker (the dentry and inode LRUs)."""
        used = self._in_use()
        dentries = sum(1 for k in self.dentries if k not in used)
        inodes = sum(1 for k in self.inodes if k not in self.dentries and not self.files[k].page_cache)
        return dentries, inodes

    def prune(self, nr):
        """super_cache_scan(): ``nr`` objects to scan, split between the
        dentry and inode LRUs in proportion to their sizes (prune_dcache_sb()
        then prune_icache_sb()), oldest first. Returns the objects freed."""
        m, used = self.machine, self._in_use()
        dcache, icache = self.caches if self._caches is not None else (None, None)
        n_dentries, n_inodes = self.unused_counts()
        total = n_dentries + n_inodes + 1
        freed = 0
        for key in [k for k in self.dentries if k not in used][: n_dentries * nr // total]:
            m.kmem_cache_free(dcache, self.dentries.pop(key))
            freed += 1
        unused = [k for k in self.inodes if k not in self.dentries and not self.files[k].page_cache]
        for key in unused[: n_inodes * nr // total]:
            m.kmem_cache_free(icache, self.inodes.pop(key))
            del self.files[key]
            freed += 1
        return freed

    def slab_pages(self):
        """Pages of the dentry and inode caches' slabs."""
        if self._caches is None:
            return 0
        return sum(c.nr_slabs * c.pagesperslab for c in self._caches)

    def drop_blocks(self):
        """drop_pagecache_sb() on the block device: its clean pages (the
        inode-table blocks, released once the inodes were read). Returns
        the pages freed."""
        freed = 0
        for block in list(self.blocks):
            self.machine.free_pages(self.blocks.pop(block), 0)
            freed += 1
        return freed
