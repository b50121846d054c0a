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
 * by page index (pfn - zone_start_pfn), and state saying what starts at the
 * page (0: nothing, 1 + o: a free block of order o, 17 + o: an allocated
 * block of order o). Allocated blocks sit on one more list (LIST_ALLOC) in
 * allocation order, which Zone.allocated_blocks() reports. The nodes come
 * from calloc, so the host maps their memory only where the zone is used.
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
#define LIST_ALLOC NR_ORDERS
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

typedef struct {
    int32_t next, prev;
    uint8_t state;
} Node;

typedef struct {
    PyObject_HEAD
    long long start;
    Py_ssize_t n;
    Node *pg; /* one per page of the zone: links and what starts there */
    int32_t head[NR_ORDERS + 1], tail[NR_ORDERS + 1];
    Py_ssize_t count[NR_ORDERS + 1];
    TrailRec trail[TRAIL_LEN];
    int trail_len, trail_pos;
    PyTypeObject *page_type;
    Py_ssize_t off_pfn, off_order;
    PyObject *oom_cb, *bad_free_cb, *bad_order_cb;
} Core;

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
    return i >= 0 && i < z->n && z->pg[i].state == ST_FREE + order;
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
        z->pg[half].state = (uint8_t)(ST_FREE + high);
        list_add_head(z, high, half);
    }
    z->pg[i].state = (uint8_t)(ST_ALLOC + order);
    list_add_tail(z, LIST_ALLOC, i);
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
        z->pg[bi].state = 0;
        *pfn &= buddy;
        (*order)++;
    }
}

/* __free_one_page() for an allocated block of ``order`` at index i. */
static void free_one(Core *z, int32_t i, int order)
{
    list_del(z, LIST_ALLOC, i);
    z->pg[i].state = 0;
    long long pfn = z->start + i, start_pfn = pfn;
    int start_order = order;
    merge(z, &pfn, &order);
    i = (int32_t)(pfn - z->start);
    z->pg[i].state = (uint8_t)(ST_FREE + order);
    int to_tail = order < 9 && is_free_at(z, (pfn & ~(1LL << order)) ^ (1LL << (order + 1)), order + 1);
    if (to_tail) list_add_tail(z, order, i); else list_add_head(z, order, i);
    trail_push(z, 0, start_pfn, start_order, order, to_tail);
}

/* Boot-time free (FPI_TO_TAIL): memblock_free_pages() -> __free_pages_core(). */
static void free_boot(Core *z, long long pfn, int order)
{
    merge(z, &pfn, &order);
    int32_t i = (int32_t)(pfn - z->start);
    z->pg[i].state = (uint8_t)(ST_FREE + order);
    list_add_tail(z, order, i);
}

static PyObject *make_page(Core *z, long long pfn, int order)
{
    PyObject *page = z->page_type->tp_alloc(z->page_type, 0);
    if (page == NULL) return NULL;
    PyObject *p = PyLong_FromLongLong(pfn), *o = PyLong_FromLong(order);
    if (p == NULL || o == NULL) {
        Py_XDECREF(p);
        Py_XDECREF(o);
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
    PyObject *pfn_obj;
    if (Py_TYPE(page) == z->page_type) {
        pfn_obj = *(PyObject **)((char *)page + z->off_pfn);
        if (pfn_obj == NULL || !PyLong_CheckExact(pfn_obj)) return -1;
    } else if (PyLong_CheckExact(page)) {
        pfn_obj = page;
    } else {
        return -1;
    }
    if (!PyLong_CheckExact(order_obj)) return -1;
    int overflow;
    long long pfn = PyLong_AsLongLongAndOverflow(pfn_obj, &overflow);
    long o = PyLong_AsLongAndOverflow(order_obj, &overflow);
    if (overflow || o < 0 || o > MAX_ORDER) return -1;
    long long i = pfn - z->start;
    if (i < 0 || i >= z->n || z->pg[i].state != ST_ALLOC + o) return -1;
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
    /* every page with a state heads a block on one of the lists: clear those
     * (touching only nodes in use; a fresh zone has none, head[] is set below) */
    for (int l = 0; l <= NR_ORDERS; l++) {
        if (z->count[l] == 0) continue;
        for (int32_t i = z->head[l]; i >= 0; i = z->pg[i].next) z->pg[i].state = 0;
    }
    for (int l = 0; l <= NR_ORDERS; l++) {
        z->head[l] = z->tail[l] = -1;
        z->count[l] = 0;
    }
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

static PyObject *Core_allocated_blocks(Core *z, PyObject *unused)
{
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    for (int32_t i = z->head[LIST_ALLOC]; i >= 0; i = z->pg[i].next)
        if (push(out, Py_BuildValue("(Li)", z->start + i, z->pg[i].state - ST_ALLOC)) < 0) return NULL;
    return out;
}

static PyObject *Core_state_at(Core *z, PyObject *arg)
{
    /* (kind, order) of what starts at pfn: ("free", o), ("alloc", o) or None. */
    int overflow;
    long long pfn = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (pfn == -1 && PyErr_Occurred()) return NULL;
    long long i = pfn - z->start;
    if (overflow || i < 0 || i >= z->n || z->pg[i].state == 0) Py_RETURN_NONE;
    int s = z->pg[i].state;
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
 * While the stream runs the live blocks are plain (pfn, order) pairs in C;
 * ``live`` is rebuilt at the end (the Pages that were passed in and are still
 * live are kept, new blocks get new Pages), so no object is made per op. */
typedef struct {
    long long pfn;
    int order;
    PyObject *page; /* the caller's Page (a new reference), or NULL */
} Live;

static int live_grow(Live **arr, Py_ssize_t *cap, Py_ssize_t need)
{
    if (need <= *cap) return 0;
    Py_ssize_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    Live *a = realloc(*arr, (size_t)c * sizeof(Live));
    if (a == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *arr = a;
    *cap = c;
    return 0;
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
    Live *arr = NULL;
    PyObject *result = NULL;
    /* the live blocks passed in: each must be a Page of a block allocated here */
    Py_ssize_t given = PyList_GET_SIZE(live);
    if (live_grow(&arr, &cap, given + 1) < 0) goto done;
    for (Py_ssize_t k = 0; k < given; k++) {
        PyObject *page = PyList_GET_ITEM(live, k);
        PyObject *order_obj = Py_TYPE(page) == z->page_type ? *(PyObject **)((char *)page + z->off_order) : NULL;
        int order;
        int32_t i = order_obj ? freeable(z, page, order_obj, &order) : -1;
        if (i < 0) {
            PyErr_Format(PyExc_ValueError, "replay: live[%zd] = %R is not a live block of this zone", k, page);
            goto done;
        }
        arr[len].pfn = z->start + i;
        arr[len].order = order;
        Py_INCREF(page);
        arr[len++].page = page;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *op = items[k];
        if (PyLong_CheckExact(op)) {
            int overflow;
            long order = PyLong_AsLongAndOverflow(op, &overflow);
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
                arr[len].pfn = pfn;
                arr[len].order = (int)order;
                arr[len++].page = NULL;
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
                Live victim = arr[idx];
                arr[idx] = arr[--len];
                free_one(z, (int32_t)(victim.pfn - z->start), victim.order);
                Py_XDECREF(victim.page);
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
    {
        PyObject *out = PyList_New(len);
        for (Py_ssize_t k = 0; k < len; k++) {
            PyObject *page = arr[k].page;
            if (page == NULL && out != NULL) page = make_page(z, arr[k].pfn, arr[k].order);
            if (out != NULL && page != NULL) PyList_SET_ITEM(out, k, page);
            else Py_XDECREF(page);
            if (page == NULL && out != NULL) {
                Py_CLEAR(out);
            }
        }
        if (out != NULL) {
            if (PyList_SetSlice(live, 0, PyList_GET_SIZE(live), out) < 0) Py_CLEAR(result);
            Py_DECREF(out);
        } else {
            Py_CLEAR(result);
        }
    }
    free(arr);
    Py_DECREF(seq);
    return result;
}

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
    Py_ssize_t offs[2];
    const char *names[2] = {"pfn", "order"};
    for (int k = 0; k < 2; k++) {
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
    z->start = start;
    z->n = (Py_ssize_t)n;
    z->pg = calloc((size_t)n + 1, sizeof(Node));
    if (!z->pg) {
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
    for (int l = 0; l <= NR_ORDERS; l++) z->count[l] = 0; /* a fresh node array: no list to walk */
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
    if (PyType_Ready(&CoreType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&CoreType);
    if (PyModule_AddObject(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(&CoreType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
