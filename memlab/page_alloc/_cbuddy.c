/*
 * memlab's optional compiled buddy core: the free lists of one zone in C.
 *
 * The readable reference is memlab/page_alloc/buddy.py (the course teaches
 * that one); this file does the same steps on the same data, so a zone
 * hands out the same PFNs in the same order either way (the tests drive
 * both side by side). Kernel: mm/page_alloc.c (Linux 6.12)
 * __rmqueue_smallest(), expand(), __free_one_page(), buddy_merge_likely(),
 * __free_pages_memory().
 *
 * Each free list is a doubly linked list threaded through one Node per page,
 * as the kernel threads page->buddy_list through struct page: next and prev
 * by page index (pfn - zone_start_pfn). A byte per page, st[], says what
 * starts there (0: nothing, 1 + o: a free block of order o, 17 + o: an
 * allocated block of order o); the buddy tests read only these bytes. The
 * node of an allocated block holds its allocation number instead of links,
 * so Zone.allocated_blocks() can report allocation order without a list
 * to keep. Nodes and bytes come from calloc, so the host maps their memory
 * only where the zone is used.
 *
 * Errors are raised by the Python side (Zone._oom, Zone._diagnose_bad_free,
 * check_order), given as callbacks, so the messages are the same and the
 * zone is unchanged when one is raised.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>

#define NR_ORDERS 11
#define MAX_ORDER 10
#define TRAIL_LEN 64
#define ST_FREE 1
#define ST_ALLOC 17

typedef struct {
    int8_t alloc; /* 1: alloc, 0: free */
    int8_t order;
    int8_t other;   /* from_order (alloc) or final_order (free) */
    int8_t to_tail; /* free only */
    long long pfn;
} TrailRec;

typedef union {
    struct {
        int32_t next, prev;
    }; /* on a free list */
    uint64_t seq; /* an allocated block: its allocation number */
} Node;

typedef struct {
    PyObject_HEAD
    long long start;
    Py_ssize_t n;
    Node *pg;    /* one per page of the zone */
    uint8_t *st; /* one per page: what starts there */
    int32_t head[NR_ORDERS], tail[NR_ORDERS];
    Py_ssize_t count[NR_ORDERS];
    Py_ssize_t nr_alloc; /* allocated blocks */
    uint64_t seq;        /* allocations so far */
    TrailRec trail[TRAIL_LEN];
    int trail_len, trail_pos;
    PyTypeObject *page_type;
    Py_ssize_t off_pfn, off_order;
    PyObject *oom_cb, *bad_free_cb, *bad_order_cb;
} Core;

/* memlab.Page in C (the Page section below says why). pfn NULL and
 * has_cpfn 1: the pfn is cpfn, not yet made an int; both unset: no pfn. */
typedef struct {
    PyObject_HEAD
    PyObject *pfn, *order;
    long long cpfn;
    int has_cpfn;
} PageObject;

static PyTypeObject PageType;
static PyObject *small_order[NR_ORDERS]; /* the int objects 0..MAX_ORDER */

/* ---------------------------------------------------------------- lists */
static inline void list_del(Core *z, int l, int32_t i)
{
    int32_t p = z->pg[i].prev, nx = z->pg[i].next;
    if (p >= 0) z->pg[p].next = nx; else z->head[l] = nx;
    if (nx >= 0) z->pg[nx].prev = p; else z->tail[l] = p;
    z->count[l]--;
}

static inline void list_add_head(Core *z, int l, int32_t i)
{
    int32_t h = z->head[l];
    z->pg[i].prev = -1;
    z->pg[i].next = h;
    if (h >= 0) z->pg[h].prev = i; else z->tail[l] = i;
    z->head[l] = i;
    z->count[l]++;
}

static inline void list_add_tail(Core *z, int l, int32_t i)
{
    int32_t t = z->tail[l];
    z->pg[i].next = -1;
    z->pg[i].prev = t;
    if (t >= 0) z->pg[t].next = i; else z->head[l] = i;
    z->tail[l] = i;
    z->count[l]++;
}

static inline int is_free_at(Core *z, long long pfn, int order)
{
    long long i = pfn - z->start;
    return i >= 0 && i < z->n && z->st[i] == ST_FREE + order;
}

static inline void trail_push(Core *z, int alloc, long long pfn, int order, int other, int to_tail)
{
    TrailRec *r = &z->trail[z->trail_pos];
    r->alloc = (int8_t)alloc;
    r->pfn = pfn;
    r->order = (int8_t)order;
    r->other = (int8_t)other;
    r->to_tail = (int8_t)to_tail;
    z->trail_pos = (z->trail_pos + 1) % TRAIL_LEN;
    if (z->trail_len < TRAIL_LEN) z->trail_len++;
}

/* ----------------------------------------------------------- the buddy steps */
/* __rmqueue_smallest() + expand(): the pfn, or -1 if no block is large enough. */
static long long rmqueue(Core *z, int order)
{
    int current = order;
    while (current < NR_ORDERS && z->count[current] == 0) current++;
    if (current == NR_ORDERS) return -1;
    int32_t i = z->head[current];
    list_del(z, current, i);
    int high = current;
    while (high > order) { /* upper halves to the head of each lower list */
        high--;
        int32_t half = i + (1 << high);
        z->st[half] = (uint8_t)(ST_FREE + high);
        list_add_head(z, high, half);
    }
    z->st[i] = (uint8_t)(ST_ALLOC + order);
    z->pg[i].seq = z->seq++;
    z->nr_alloc++;
    trail_push(z, 1, z->start + i, order, current, 0);
    return z->start + i;
}

/* The merge loop of __free_one_page(): while the buddy is free at the same
 * order, take it off its list and move up one order. */
static void merge(Core *z, long long *pfn, int *order)
{
    while (*order < MAX_ORDER) {
        long long buddy = *pfn ^ (1LL << *order);
        if (!is_free_at(z, buddy, *order)) break;
        int32_t bi = (int32_t)(buddy - z->start);
        list_del(z, *order, bi);
        z->st[bi] = 0;
        *pfn &= buddy;
        (*order)++;
    }
}

/* __free_one_page() for an allocated block of ``order`` at index i. */
static void free_one(Core *z, int32_t i, int order)
{
    z->nr_alloc--;
    z->st[i] = 0;
    long long pfn = z->start + i, start_pfn = pfn;
    int start_order = order;
    merge(z, &pfn, &order);
    i = (int32_t)(pfn - z->start);
    z->st[i] = (uint8_t)(ST_FREE + order);
    int to_tail = order < 9 && is_free_at(z, (pfn & ~(1LL << order)) ^ (1LL << (order + 1)), order + 1);
    if (to_tail) list_add_tail(z, order, i); else list_add_head(z, order, i);
    trail_push(z, 0, start_pfn, start_order, order, to_tail);
}

/* Boot-time free (FPI_TO_TAIL): memblock_free_pages() -> __free_pages_core(). */
static void free_boot(Core *z, long long pfn, int order)
{
    merge(z, &pfn, &order);
    int32_t i = (int32_t)(pfn - z->start);
    z->st[i] = (uint8_t)(ST_FREE + order);
    list_add_tail(z, order, i);
}

static PyObject *make_page(Core *z, long long pfn, int order)
{
    PyObject *page = z->page_type->tp_alloc(z->page_type, 0);
    if (page == NULL) return NULL;
    PyObject *o = small_order[order];
    Py_INCREF(o);
    if (z->page_type == &PageType) { /* the pfn stays a C number until read */
        ((PageObject *)page)->cpfn = pfn;
        ((PageObject *)page)->has_cpfn = 1;
        ((PageObject *)page)->order = o;
        return page;
    }
    PyObject *p = PyLong_FromLongLong(pfn);
    if (p == NULL) {
        Py_DECREF(o);
        Py_DECREF(page);
        return NULL;
    }
    *(PyObject **)((char *)page + z->off_pfn) = p;
    *(PyObject **)((char *)page + z->off_order) = o;
    return page;
}

static PyObject *raise_oom(Core *z, int order)
{
    PyObject *exc = PyObject_CallFunction(z->oom_cb, "i", order);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *bad_free(Core *z, PyObject *page, PyObject *order)
{
    PyObject *r = PyObject_CallFunctionObjArgs(z->bad_free_cb, page, order, NULL);
    Py_XDECREF(r);
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "memlab: a bad free was not diagnosed");
    return NULL;
}

/* The index of the allocated block a free names, or -1 (then diagnose). */
static int32_t freeable(Core *z, PyObject *page, PyObject *order_obj, int *order)
{
    PyObject *pfn_obj = NULL;
    long long pfn = 0;
    int overflow = 0;
    if (Py_TYPE(page) == z->page_type) {
        if (z->page_type == &PageType && ((PageObject *)page)->pfn == NULL) {
            if (!((PageObject *)page)->has_cpfn) return -1;
            pfn = ((PageObject *)page)->cpfn;
        } else {
            pfn_obj = *(PyObject **)((char *)page + z->off_pfn);
            if (pfn_obj == NULL || !PyLong_CheckExact(pfn_obj)) return -1;
        }
    } else if (PyLong_CheckExact(page)) {
        pfn_obj = page;
    } else {
        return -1;
    }
    if (!PyLong_CheckExact(order_obj)) return -1;
    if (pfn_obj != NULL) {
        pfn = PyLong_AsLongLongAndOverflow(pfn_obj, &overflow);
        if (overflow) return -1;
    }
    long o = PyLong_AsLongAndOverflow(order_obj, &overflow);
    if (overflow || o < 0 || o > MAX_ORDER) return -1;
    long long i = pfn - z->start;
    if (i < 0 || i >= z->n || z->st[i] != ST_ALLOC + o) return -1;
    *order = (int)o;
    return (int32_t)i;
}

/* ------------------------------------------------------------- methods */
static PyObject *Core_alloc_pages(Core *z, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *order_obj = nargs > 0 ? args[0] : NULL;
    long order = 0;
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "alloc_pages() takes at most 1 argument (order)");
        return NULL;
    }
    if (order_obj != NULL) {
        int overflow = 0;
        if (PyLong_CheckExact(order_obj)) order = PyLong_AsLongAndOverflow(order_obj, &overflow);
        if (!PyLong_CheckExact(order_obj) || overflow || order < 0 || order > MAX_ORDER) {
            PyObject *r = PyObject_CallFunctionObjArgs(z->bad_order_cb, order_obj, NULL);
            Py_XDECREF(r);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "memlab: bad order");
            return NULL;
        }
    }
    long long pfn = rmqueue(z, (int)order);
    if (pfn < 0) return raise_oom(z, (int)order);
    return make_page(z, pfn, (int)order);
}

static PyObject *Core_free_pages(Core *z, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "free_pages() takes 2 arguments (page, order)");
        return NULL;
    }
    int order;
    int32_t i = freeable(z, args[0], args[1], &order);
    if (i < 0) return bad_free(z, args[0], args[1]);
    free_one(z, i, order);
    Py_RETURN_NONE;
}

static PyObject *Core_boot(Core *z, PyObject *args)
{
    long long lo, hi;
    if (!PyArg_ParseTuple(args, "LL", &lo, &hi)) return NULL;
    while (lo < hi) { /* __free_pages_memory(start, end) */
        int order = lo == 0 ? MAX_ORDER : (int)__builtin_ctzll((unsigned long long)lo);
        if (order > MAX_ORDER) order = MAX_ORDER;
        while (lo + (1LL << order) > hi) order--;
        free_boot(z, lo, order);
        lo += 1LL << order;
    }
    Py_RETURN_NONE;
}

static PyObject *Core_clear(Core *z, PyObject *unused)
{
    /* every page with a state heads a free block on a list or an allocated
     * block: clear those, writing only bytes in use (a fresh zone has none;
     * reading the untouched part of st[] maps no host memory) */
    for (int l = 0; l < NR_ORDERS; l++) {
        if (z->count[l] == 0) continue;
        for (int32_t i = z->head[l]; i >= 0; i = z->pg[i].next) z->st[i] = 0;
    }
    for (Py_ssize_t i = 0; z->nr_alloc > 0 && i < z->n; i++)
        if (z->st[i] >= ST_ALLOC) {
            z->st[i] = 0;
            z->nr_alloc--;
        }
    for (int l = 0; l < NR_ORDERS; l++) {
        z->head[l] = z->tail[l] = -1;
        z->count[l] = 0;
    }
    z->seq = 0;
    z->trail_len = z->trail_pos = 0;
    Py_RETURN_NONE;
}

/* Append v (a new reference, or NULL after an error) to out; on failure
 * drop both and return -1. */
static int push(PyObject *out, PyObject *v)
{
    if (v == NULL || PyList_Append(out, v) < 0) {
        Py_XDECREF(v);
        Py_DECREF(out);
        return -1;
    }
    Py_DECREF(v);
    return 0;
}

static PyObject *pfn_list(Core *z, int l)
{
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    for (int32_t i = z->head[l]; i >= 0; i = z->pg[i].next)
        if (push(out, PyLong_FromLongLong(z->start + i)) < 0) return NULL;
    return out;
}

static PyObject *Core_free_list(Core *z, PyObject *arg)
{
    long order = PyLong_AsLong(arg);
    if (order == -1 && PyErr_Occurred()) return NULL;
    if (order < 0 || order > MAX_ORDER) {
        PyErr_SetString(PyExc_ValueError, "order out of range");
        return NULL;
    }
    return pfn_list(z, (int)order);
}

static PyObject *Core_nr_free_by_order(Core *z, PyObject *unused)
{
    PyObject *out = PyList_New(NR_ORDERS);
    if (out == NULL) return NULL;
    for (int o = 0; o < NR_ORDERS; o++) {
        PyObject *v = PyLong_FromSsize_t(z->count[o]);
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, o, v);
    }
    return out;
}

static PyObject *Core_nr_free_pages(Core *z, PyObject *unused)
{
    long long n = 0;
    for (int o = 0; o < NR_ORDERS; o++) n += (long long)z->count[o] << o;
    return PyLong_FromLongLong(n);
}

typedef struct {
    uint64_t seq;
    int32_t i;
} Numbered;

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const Numbered *)a)->seq, y = ((const Numbered *)b)->seq;
    return (x > y) - (x < y);
}

static PyObject *Core_allocated_blocks(Core *z, PyObject *unused)
{
    /* the allocated blocks by allocation number (allocation order) */
    Numbered *blocks = malloc(((size_t)z->nr_alloc + 1) * sizeof(Numbered));
    if (blocks == NULL) return PyErr_NoMemory();
    Py_ssize_t len = 0;
    for (Py_ssize_t i = 0; i < z->n && len < z->nr_alloc; i++)
        if (z->st[i] >= ST_ALLOC) {
            blocks[len].seq = z->pg[i].seq;
            blocks[len++].i = (int32_t)i;
        }
    qsort(blocks, (size_t)len, sizeof(Numbered), by_seq);
    PyObject *out = PyList_New(len);
    for (Py_ssize_t k = 0; out != NULL && k < len; k++) {
        int32_t i = blocks[k].i;
        PyObject *t = Py_BuildValue("(Li)", z->start + i, z->st[i] - ST_ALLOC);
        if (t == NULL) Py_CLEAR(out);
        else PyList_SET_ITEM(out, k, t);
    }
    free(blocks);
    return out;
}

static PyObject *Core_state_at(Core *z, PyObject *arg)
{
    /* (kind, order) of what starts at pfn: ("free", o), ("alloc", o) or None. */
    int overflow;
    long long pfn = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (pfn == -1 && PyErr_Occurred()) return NULL;
    long long i = pfn - z->start;
    if (overflow || i < 0 || i >= z->n || z->st[i] == 0) Py_RETURN_NONE;
    int s = z->st[i];
    if (s >= ST_ALLOC) return Py_BuildValue("(si)", "alloc", s - ST_ALLOC);
    return Py_BuildValue("(si)", "free", s - ST_FREE);
}

static PyObject *Core_trail(Core *z, PyObject *unused)
{
    PyObject *out = PyList_New(z->trail_len);
    if (out == NULL) return NULL;
    int first = (z->trail_pos - z->trail_len + TRAIL_LEN) % TRAIL_LEN;
    for (int k = 0; k < z->trail_len; k++) {
        TrailRec *r = &z->trail[(first + k) % TRAIL_LEN];
        PyObject *t = r->alloc ? Py_BuildValue("(sLii)", "alloc", r->pfn, r->order, r->other)
                               : Py_BuildValue("(sLiiO)", "free", r->pfn, r->order, r->other,
                                               r->to_tail ? Py_True : Py_False);
        if (t == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, k, t);
    }
    return out;
}

/* replay(ops, live, sample_every, on_sample): a whole operation stream in C.
 * An int op allocates that order (the block joins ``live``); a float op f
 * frees live[int(f * len(live))] with swap-remove, as
 * memlab.workloads.buddy_v1 does; every ``sample_every`` ops
 * ``on_sample(done)`` is called. Returns (allocs, frees, failures).
 * While the stream runs a live block is its page index (the order is in
 * st[]), with GIVEN set if the caller passed its Page in; ``live`` is
 * rebuilt at the end (the Pages passed in and still live are kept, new
 * blocks get new Pages), so no object is made per op. */
#define GIVEN 0x80000000u

typedef struct {
    uint32_t i;
    PyObject *page;
} GivenPage;

static int by_index(const void *a, const void *b)
{
    uint32_t x = ((const GivenPage *)a)->i, y = ((const GivenPage *)b)->i;
    return (x > y) - (x < y);
}

static int live_grow(uint32_t **arr, Py_ssize_t *cap, Py_ssize_t need)
{
    if (need <= *cap) return 0;
    Py_ssize_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    uint32_t *a = realloc(*arr, (size_t)c * sizeof(uint32_t));
    if (a == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *arr = a;
    *cap = c;
    return 0;
}

/* live[:] = the blocks in arr, in that order (see replay). */
static int live_rebuild(Core *z, PyObject *live, uint32_t *arr, Py_ssize_t len, GivenPage *given, Py_ssize_t nr_given)
{
    int gc_was_on = PyGC_Disable(); /* new Pages only: nothing for the collector to find */
    PyObject *out = PyList_New(len);
    for (Py_ssize_t k = 0; out != NULL && k < len; k++) {
        uint32_t i = arr[k] & ~GIVEN;
        PyObject *page;
        if (arr[k] & GIVEN) {
            GivenPage key = {i, NULL};
            page = ((GivenPage *)bsearch(&key, given, (size_t)nr_given, sizeof(GivenPage), by_index))->page;
            Py_INCREF(page);
        } else {
            page = make_page(z, z->start + i, z->st[i] - ST_ALLOC);
        }
        if (page == NULL) Py_CLEAR(out);
        else PyList_SET_ITEM(out, k, page);
    }
    int rc = out == NULL ? -1 : PyList_SetSlice(live, 0, PyList_GET_SIZE(live), out);
    Py_XDECREF(out);
    if (gc_was_on) PyGC_Enable();
    return rc;
}

static PyObject *Core_replay(Core *z, PyObject *args)
{
    PyObject *ops, *live, *on_sample;
    Py_ssize_t every;
    if (!PyArg_ParseTuple(args, "OO!nO", &ops, &PyList_Type, &live, &every, &on_sample)) return NULL;
    PyObject *seq = PySequence_Fast(ops, "replay: ops must be a sequence");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), allocs = 0, frees = 0, failures = 0, len = 0, cap = 0;
    PyObject **items = PySequence_Fast_ITEMS(seq);
    uint32_t *arr = NULL;
    PyObject *result = NULL;
    /* the live blocks passed in: each must be a Page of a block allocated here
     * (live is not changed until the end, so it keeps the references) */
    Py_ssize_t nr_given = PyList_GET_SIZE(live);
    GivenPage *given = malloc(((size_t)nr_given + 1) * sizeof(GivenPage));
    if (given == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    if (live_grow(&arr, &cap, nr_given + 1) < 0) goto fail;
    for (Py_ssize_t k = 0; k < nr_given; k++) {
        PyObject *page = PyList_GET_ITEM(live, k);
        PyObject *order_obj = Py_TYPE(page) == z->page_type ? *(PyObject **)((char *)page + z->off_order) : NULL;
        int order;
        int32_t i = order_obj ? freeable(z, page, order_obj, &order) : -1;
        if (i < 0) {
            PyErr_Format(PyExc_ValueError, "replay: live[%zd] = %R is not a live block of this zone", k, page);
            goto fail;
        }
        given[k].i = (uint32_t)i;
        given[k].page = page;
        arr[len++] = (uint32_t)i | GIVEN;
    }
    qsort(given, (size_t)nr_given, sizeof(GivenPage), by_index);
    for (Py_ssize_t k = 1; k < nr_given; k++)
        if (given[k].i == given[k - 1].i) {
            PyErr_Format(PyExc_ValueError, "replay: the block at pfn %lld is in live twice", z->start + given[k].i);
            goto fail;
        }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *op = items[k];
        long order = 0; /* CPython keeps one object per small int: most orders are found by identity */
        while (order < NR_ORDERS && op != small_order[order]) order++;
        if (order < NR_ORDERS || PyLong_CheckExact(op)) {
            int overflow = 0;
            if (order == NR_ORDERS) order = PyLong_AsLongAndOverflow(op, &overflow);
            if (overflow || order < 0 || order > MAX_ORDER) {
                PyObject *r = PyObject_CallFunctionObjArgs(z->bad_order_cb, op, NULL);
                Py_XDECREF(r);
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "replay: bad order");
                goto done;
            }
            long long pfn = rmqueue(z, (int)order);
            if (pfn < 0) {
                failures++;
            } else {
                if (live_grow(&arr, &cap, len + 1) < 0) goto done;
                arr[len++] = (uint32_t)(pfn - z->start);
                allocs++;
            }
        } else if (PyFloat_CheckExact(op)) {
            if (len > 0) {
                double f = PyFloat_AS_DOUBLE(op);
                Py_ssize_t idx = (Py_ssize_t)(f * (double)len);
                if (!(f >= 0.0) || idx >= len) {
                    PyErr_Format(PyExc_ValueError, "replay: free fraction %R is outside [0, 1)", op);
                    goto done;
                }
                uint32_t i = arr[idx] & ~GIVEN;
                arr[idx] = arr[--len];
                free_one(z, (int32_t)i, z->st[i] - ST_ALLOC);
                frees++;
            }
        } else {
            PyErr_Format(PyExc_TypeError, "replay: op %R is neither an int (an order) nor a float (a free)", op);
            goto done;
        }
        if (every > 0 && (k + 1) % every == 0) {
            PyObject *r = PyObject_CallFunction(on_sample, "n", k + 1);
            if (r == NULL) goto done;
            Py_DECREF(r);
        }
    }
    result = Py_BuildValue("(nnn)", allocs, frees, failures);
done:
    /* live becomes the blocks still live (also after an error: the zone has
     * done every op before the bad one, and live says which blocks those left) */
    if (result == NULL) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (live_rebuild(z, live, arr, len, given, nr_given) < 0) { /* (its error wins) */
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
        } else {
            PyErr_Restore(type, value, tb);
        }
    } else if (live_rebuild(z, live, arr, len, given, nr_given) < 0) {
        Py_CLEAR(result);
    }
fail:
    free(given);
    free(arr);
    Py_DECREF(seq);
    return result;
}

/* ---------------------------------------------------------------- Page */
/* memlab.Page when this extension is built: the class of the same name in
 * memlab/page_alloc/buddy.py (the one to read), in C. A Python class is
 * always tracked by the garbage collector, which costs a Page more than the
 * buddy step itself; a Page holds two ints and can be part of no cycle, so
 * this one is not tracked. Same attributes, properties, repr, == and hash.
 * Page.__new__(Page) without arguments makes an empty one, as
 * object.__new__(Page) does for the Python class (alloc_pages uses it).
 * A Page made by a zone keeps its pfn as a C number until page.pfn is read
 * (then the int is made once and kept): a block allocated and freed without
 * anybody reading its pfn costs no int object (benchmarks/README.md). */

static PyObject *Page_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"pfn", "order", NULL};
    PyObject *pfn = NULL, *order = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO:Page", kwlist, &pfn, &order)) return NULL;
    if ((pfn == NULL) != (order == NULL)) {
        PyErr_SetString(PyExc_TypeError, "Page() missing a required argument: 'pfn' and 'order' go together");
        return NULL;
    }
    PageObject *page = (PageObject *)type->tp_alloc(type, 0);
    if (page == NULL) return NULL;
    Py_XINCREF(pfn);
    Py_XINCREF(order);
    page->pfn = pfn;
    page->order = order;
    return (PyObject *)page;
}

static void Page_dealloc(PageObject *page)
{
    Py_XDECREF(page->pfn);
    Py_XDECREF(page->order);
    Py_TYPE(page)->tp_free((PyObject *)page);
}

/* self.<name> as the Python class reads it (AttributeError when unset) */
static PyObject *field(PageObject *page, PyObject *v, const char *name)
{
    if (v == NULL) PyErr_Format(PyExc_AttributeError, "'Page' object has no attribute '%s'", name);
    return v;
}

/* self.pfn (a borrowed reference, NULL with AttributeError when unset): the
 * int is made on the first read of a pfn kept as a C number */
static PyObject *pfn_of(PageObject *page)
{
    if (page->pfn == NULL && page->has_cpfn) {
        page->pfn = PyLong_FromLongLong(page->cpfn);
        if (page->pfn == NULL) return NULL;
        page->has_cpfn = 0;
    }
    return field(page, page->pfn, "pfn");
}

static PyObject *Page_get_pfn(PageObject *page, void *unused)
{
    PyObject *v = pfn_of(page);
    Py_XINCREF(v);
    return v;
}

static int Page_set_pfn(PageObject *page, PyObject *v, void *unused)
{ /* page.pfn = v, del page.pfn */
    if (v == NULL && page->pfn == NULL && !page->has_cpfn) {
        PyErr_SetString(PyExc_AttributeError, "pfn");
        return -1;
    }
    Py_XINCREF(v);
    Py_XSETREF(page->pfn, v);
    page->has_cpfn = 0;
    return 0;
}

static PyObject *shifted(PyObject *base, PyObject *by)
{ /* base << by (NULL if either is NULL: an error is set) */
    return base != NULL && by != NULL ? PyNumber_Lshift(base, by) : NULL;
}

static PyObject *Page_nr_pages(PageObject *page, void *unused)
{ /* 1 << self.order */
    PyObject *one = PyLong_FromLong(1);
    PyObject *r = shifted(one, field(page, page->order, "order"));
    Py_XDECREF(one);
    return r;
}

static PyObject *Page_phys_addr(PageObject *page, void *unused)
{ /* self.pfn << PAGE_SHIFT */
    PyObject *by = PyLong_FromLong(12);
    PyObject *r = by ? shifted(pfn_of(page), by) : NULL;
    Py_XDECREF(by);
    return r;
}

static PyObject *Page_size(PageObject *page, void *unused)
{ /* PAGE_SIZE << self.order */
    PyObject *size = PyLong_FromLong(4096);
    PyObject *r = size ? shifted(size, field(page, page->order, "order")) : NULL;
    Py_XDECREF(size);
    return r;
}

static PyObject *Page_repr(PageObject *page)
{
    if (pfn_of(page) == NULL || field(page, page->order, "order") == NULL) return NULL;
    return PyUnicode_FromFormat("Page(pfn=%S, order=%S)", page->pfn, page->order);
}

static PyObject *pair(PageObject *page)
{
    if (pfn_of(page) == NULL || field(page, page->order, "order") == NULL) return NULL;
    return PyTuple_Pack(2, page->pfn, page->order);
}

static Py_hash_t Page_hash(PageObject *page)
{ /* hash((self.pfn, self.order)) */
    PyObject *t = pair(page);
    if (t == NULL) return -1;
    Py_hash_t h = PyObject_Hash(t);
    Py_DECREF(t);
    return h;
}

static PyObject *Page_richcompare(PageObject *page, PyObject *other, int op)
{ /* isinstance(other, Page) and (self.pfn, self.order) == (other.pfn, other.order) */
    if (op != Py_EQ && op != Py_NE) Py_RETURN_NOTIMPLEMENTED;
    int eq = 0;
    if (PyObject_TypeCheck(other, &PageType)) {
        PyObject *a = pair(page), *b = a ? pair((PageObject *)other) : NULL;
        eq = b ? PyObject_RichCompareBool(a, b, Py_EQ) : -1;
        Py_XDECREF(a);
        Py_XDECREF(b);
        if (eq < 0) return NULL;
    }
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static PyMemberDef Page_members[] = {
    {"order", T_OBJECT_EX, offsetof(PageObject, order), 0, NULL},
    {NULL},
};

static PyGetSetDef Page_getset[] = {
    {"pfn", (getter)Page_get_pfn, (setter)Page_set_pfn, NULL, NULL},
    {"nr_pages", (getter)Page_nr_pages, NULL, NULL, NULL},
    {"phys_addr", (getter)Page_phys_addr, NULL, "Physical address of the block's first byte (``page_to_phys``).",
     NULL},
    {"size", (getter)Page_size, NULL, NULL, NULL},
    {NULL},
};

static PyTypeObject PageType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "memlab.page_alloc.buddy.Page",
    .tp_basicsize = sizeof(PageObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The first page of an allocated block: ``Page(pfn, order)``, with ``.pfn`` and ``.order``.\n\n"
              "Kernel: struct page (include/linux/mm_types.h); the order lives in the\n"
              "caller's hands, as with alloc_pages()/__free_pages().",
    .tp_new = Page_new,
    .tp_dealloc = (destructor)Page_dealloc,
    .tp_repr = (reprfunc)Page_repr,
    .tp_hash = (hashfunc)Page_hash,
    .tp_richcompare = (richcmpfunc)Page_richcompare,
    .tp_members = Page_members,
    .tp_getset = Page_getset,
};

/* ------------------------------------------------------------- the type */
static int Core_init(Core *z, PyObject *args, PyObject *kwds)
{
    long long start, n;
    PyObject *page_type, *oom_cb, *bad_free_cb, *bad_order_cb;
    if (!PyArg_ParseTuple(args, "LLO!OOO", &start, &n, &PyType_Type, &page_type, &oom_cb, &bad_free_cb,
                          &bad_order_cb))
        return -1;
    if (n < 0 || n >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "zone too large for the compiled core");
        return -1;
    }
    Py_ssize_t offs[2] = {offsetof(PageObject, pfn), offsetof(PageObject, order)};
    const char *names[2] = {"pfn", "order"};
    for (int k = 0; page_type != (PyObject *)&PageType && k < 2; k++) {
        PyObject *d = PyObject_GetAttrString(page_type, names[k]);
        if (d == NULL) return -1;
        if (Py_TYPE(d) != &PyMemberDescr_Type) {
            Py_DECREF(d);
            PyErr_SetString(PyExc_TypeError, "the Page type must have __slots__ pfn and order");
            return -1;
        }
        offs[k] = ((PyMemberDescrObject *)d)->d_member->offset;
        Py_DECREF(d);
    }
    free(z->pg);
    free(z->st);
    z->start = start;
    z->n = (Py_ssize_t)n;
    z->pg = calloc((size_t)n + 1, sizeof(Node));
    z->st = calloc((size_t)n + 1, 1);
    if (!z->pg || !z->st) {
        PyErr_NoMemory();
        return -1;
    }
    Py_INCREF(page_type);
    Py_XSETREF(z->page_type, (PyTypeObject *)page_type);
    z->off_pfn = offs[0];
    z->off_order = offs[1];
    Py_INCREF(oom_cb);
    Py_XSETREF(z->oom_cb, oom_cb);
    Py_INCREF(bad_free_cb);
    Py_XSETREF(z->bad_free_cb, bad_free_cb);
    Py_INCREF(bad_order_cb);
    Py_XSETREF(z->bad_order_cb, bad_order_cb);
    for (int l = 0; l < NR_ORDERS; l++) z->count[l] = 0; /* a fresh node array: no list to walk */
    z->nr_alloc = 0;
    Core_clear(z, NULL);
    return 0;
}

static int Core_traverse(Core *z, visitproc visit, void *arg)
{
    Py_VISIT(z->page_type);
    Py_VISIT(z->oom_cb);
    Py_VISIT(z->bad_free_cb);
    Py_VISIT(z->bad_order_cb);
    return 0;
}

static int Core_clear_refs(Core *z)
{
    Py_CLEAR(z->page_type);
    Py_CLEAR(z->oom_cb);
    Py_CLEAR(z->bad_free_cb);
    Py_CLEAR(z->bad_order_cb);
    return 0;
}

static void Core_dealloc(Core *z)
{
    PyObject_GC_UnTrack(z);
    Core_clear_refs(z);
    free(z->pg);
    free(z->st);
    Py_TYPE(z)->tp_free((PyObject *)z);
}

static PyMethodDef Core_methods[] = {
    {"alloc_pages", (PyCFunction)(void (*)(void))Core_alloc_pages, METH_FASTCALL, "alloc_pages(order=0) -> Page"},
    {"free_pages", (PyCFunction)(void (*)(void))Core_free_pages, METH_FASTCALL, "free_pages(page, order)"},
    {"boot", (PyCFunction)Core_boot, METH_VARARGS, "boot(start_pfn, end_pfn): __free_pages_memory()"},
    {"clear", (PyCFunction)Core_clear, METH_NOARGS, "forget every block"},
    {"free_list", (PyCFunction)Core_free_list, METH_O, "free_list(order): PFNs, head first"},
    {"nr_free_by_order", (PyCFunction)Core_nr_free_by_order, METH_NOARGS, "nr_free per order"},
    {"nr_free_pages", (PyCFunction)Core_nr_free_pages, METH_NOARGS, "free pages"},
    {"allocated_blocks", (PyCFunction)Core_allocated_blocks, METH_NOARGS, "(pfn, order) in allocation order"},
    {"state_at", (PyCFunction)Core_state_at, METH_O, "state_at(pfn): ('free'|'alloc', order) or None"},
    {"trail", (PyCFunction)Core_trail, METH_NOARGS, "the last 64 raw trail tuples, oldest first"},
    {"replay", (PyCFunction)Core_replay, METH_VARARGS, "replay(ops, live, sample_every, on_sample)"},
    {NULL},
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "memlab.page_alloc._cbuddy.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The free lists of one zone (see memlab/page_alloc/core.py).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Core_init,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_traverse = (traverseproc)Core_traverse,
    .tp_clear = (inquiry)Core_clear_refs,
    .tp_methods = Core_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cbuddy", "memlab's optional compiled buddy core.", -1, NULL,
};

PyMODINIT_FUNC PyInit__cbuddy(void)
{
    if (PyType_Ready(&CoreType) < 0 || PyType_Ready(&PageType) < 0) return NULL;
    for (int o = 0; o < NR_ORDERS; o++)
        if ((small_order[o] = PyLong_FromLong(o)) == NULL) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&CoreType);
    if (PyModule_AddObject(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(&CoreType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&PageType);
    if (PyModule_AddObject(m, "Page", (PyObject *)&PageType) < 0) {
        Py_DECREF(&PageType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
