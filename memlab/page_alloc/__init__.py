"""The page allocator: buddy lists per zone, watermarks, fragmentation, and
the zoned allocator of a node. The names are re-exported here so that
``from memlab.page_alloc import Zone, unusable_index, ...`` keeps working."""

from .buddy import WMARK_NAMES, AllocStep, FreeArea, FreeStep, Page, Zone, buddy_pfn, check_order
from .fragmentation import ContigPageInfo, contig_page_info, fragmentation_index, unusable_index
from .node import Node, NodeAlloc, NodeFree
from .watermarks import (ALLOC_CMA, ALLOC_CPUSET, ALLOC_HIGHATOMIC, ALLOC_KSWAPD, ALLOC_MIN_RESERVE,
                         ALLOC_NO_WATERMARKS, ALLOC_NOFRAGMENT, ALLOC_NON_BLOCK, ALLOC_OOM, ALLOC_RESERVES,
                         ALLOC_WMARK_HIGH, ALLOC_WMARK_LOW, ALLOC_WMARK_MIN, LOWMEM_RESERVE_RATIO, SWAP_CLUSTER_MAX,
                         alloc_flags_names, calculate_min_free_kbytes, gfp_to_alloc_flags,
                         setup_per_zone_lowmem_reserve, setup_per_zone_wmarks, zone_watermark_ok)

__all__ = [
    "Page", "FreeArea", "Zone", "AllocStep", "FreeStep", "buddy_pfn", "check_order", "WMARK_NAMES",
    "ContigPageInfo", "contig_page_info", "fragmentation_index", "unusable_index",
    "Node", "NodeAlloc", "NodeFree",
    "calculate_min_free_kbytes", "setup_per_zone_wmarks", "setup_per_zone_lowmem_reserve", "LOWMEM_RESERVE_RATIO",
    "SWAP_CLUSTER_MAX", "gfp_to_alloc_flags", "zone_watermark_ok", "alloc_flags_names",
    "ALLOC_WMARK_MIN", "ALLOC_WMARK_LOW", "ALLOC_WMARK_HIGH", "ALLOC_NO_WATERMARKS", "ALLOC_OOM", "ALLOC_NON_BLOCK",
    "ALLOC_MIN_RESERVE", "ALLOC_CPUSET", "ALLOC_CMA", "ALLOC_NOFRAGMENT", "ALLOC_HIGHATOMIC", "ALLOC_KSWAPD",
    "ALLOC_RESERVES",
]
