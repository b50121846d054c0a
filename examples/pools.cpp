// User-space memory pools in C++, beside lesson 04's simulated ones.
//
//   g++ -std=c++17 -O2 -Wall -Wextra -o pools examples/pools.cpp
//   ./pools --check            correctness run (build it with -fsanitize=address,undefined too)
//   ./pools --bench N ROUNDS   time N allocate/free operations per allocator, ROUNDS interleaved rounds
//
// Four ways to get 48-byte objects:
//   new/delete                              the general-purpose heap (glibc malloc underneath)
//   FixedPool<Packet>                       one chunk, a free list threaded through the free slots,
//                                           objects built with placement new
//   std::pmr::unsynchronized_pool_resource  the standard library's size-class pools (C++17)
//   std::pmr::monotonic_buffer_resource     bump allocation from a buffer; frees are no-ops,
//                                           everything goes back at once
// and PoolAllocator<T>, an allocator that lets std::list keep its nodes in a FixedPool.
//
// --bench prints one line per allocator and round: "<name> <round> <ns per operation>".
// The workload is the same for all: keep up to 1000 objects alive, allocate (55 %) or free a
// pseudo-random live one (45 %), from a fixed seed.

#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <memory_resource>
#include <new>
#include <vector>

struct Packet {
    std::uint64_t id;
    std::uint32_t length;
    char payload[36];
    explicit Packet(std::uint64_t i) : id(i), length(36) { std::memset(payload, 'p', sizeof payload); }
    ~Packet() { id = 0; }
};
static_assert(sizeof(Packet) == 48, "48-byte objects, as in lesson 04");

// A fixed-size object pool: one chunk of N slots; a free slot holds the pointer to the next free
// one (an intrusive free list, LIFO), so allocate and free are a pointer swap and there is no
// header per object.
template <class T>
class FixedPool {
    union Slot {
        Slot* next;
        alignas(T) unsigned char storage[sizeof(T)];
    };
    std::unique_ptr<Slot[]> chunk_;
    Slot* free_ = nullptr;
    std::size_t capacity_, in_use_ = 0;

public:
    explicit FixedPool(std::size_t capacity) : chunk_(new Slot[capacity]), capacity_(capacity) {
        for (std::size_t i = capacity; i-- > 0;) {  // slot 0 ends up at the head
            chunk_[i].next = free_;
            free_ = &chunk_[i];
        }
    }
    FixedPool(const FixedPool&) = delete;
    FixedPool& operator=(const FixedPool&) = delete;

    void* allocate() {
        if (!free_) throw std::bad_alloc();  // a fixed capacity: the price of never fragmenting
        Slot* s = free_;
        free_ = s->next;
        ++in_use_;
        return s->storage;
    }
    void deallocate(void* p) {
        Slot* s = reinterpret_cast<Slot*>(p);
        s->next = free_;
        free_ = s;
        --in_use_;
    }
    template <class... Args>
    T* create(Args&&... args) {  // placement new: construct in a pool slot
        void* mem = allocate();
        return new (mem) T(std::forward<Args>(args)...);
    }
    void destroy(T* p) {  // run the destructor by hand, then give the slot back
        p->~T();
        deallocate(p);
    }
    std::size_t in_use() const { return in_use_; }
    std::size_t capacity() const { return capacity_; }
    bool owns(const void* p) const {
        auto a = reinterpret_cast<std::uintptr_t>(p), b = reinterpret_cast<std::uintptr_t>(chunk_.get());
        return a >= b && a < b + capacity_ * sizeof(Slot);
    }
};

// An allocator<T> whose single-object allocations (list nodes) come from a FixedPool of node-sized
// slots; larger requests (a vector's arrays) go to ::operator new, because a pool of one slot size
// cannot hold them.
template <std::size_t SlotSize>
struct NodeArena {
    static FixedPool<std::aligned_storage_t<SlotSize, alignof(std::max_align_t)>>& pool() {
        static FixedPool<std::aligned_storage_t<SlotSize, alignof(std::max_align_t)>> p(4096);
        return p;
    }
};

template <class T>
struct PoolAllocator {
    using value_type = T;
    PoolAllocator() = default;
    template <class U>
    PoolAllocator(const PoolAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        if (n == 1) return static_cast<T*>(NodeArena<sizeof(T)>::pool().allocate());
        return static_cast<T*>(::operator new(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n == 1)
            NodeArena<sizeof(T)>::pool().deallocate(p);
        else
            ::operator delete(p);
    }
    template <class U>
    bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const PoolAllocator<U>&) const noexcept { return false; }
};

// ---------------------------------------------------------------------------------- workload
struct Workload {
    std::vector<std::int32_t> ops;  // +1 allocate, -k free the live object at index k % live
    explicit Workload(std::size_t n) {
        std::uint64_t x = 42;  // xorshift: the same sequence for every allocator
        std::size_t live = 0;
        for (std::size_t i = 0; i < n; ++i) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            bool alloc = live == 0 || (live < 1000 && x % 100 < 55);
            if (alloc) {
                ops.push_back(1), ++live;
            } else {
                ops.push_back(-static_cast<std::int32_t>(1 + (x >> 32) % 1000000)), --live;
            }
        }
    }
};

template <class Alloc, class Free>
double run(const Workload& w, Alloc alloc, Free free_) {
    std::vector<Packet*> live;
    live.reserve(1024);
    auto t0 = std::chrono::steady_clock::now();
    std::uint64_t id = 0;
    for (std::int32_t op : w.ops) {
        if (op > 0) {
            live.push_back(alloc(++id));
        } else {
            std::size_t i = static_cast<std::size_t>(-op) % live.size();
            std::swap(live[i], live.back());
            free_(live.back());
            live.pop_back();
        }
    }
    for (Packet* p : live) free_(p);
    auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(w.ops.size());
}

static int bench(std::size_t n, int rounds) {
    Workload w(n);
    for (int r = 0; r < rounds; ++r) {  // interleaved: every allocator once per round
        double t;
        t = run(w, [](std::uint64_t i) { return new Packet(i); }, [](Packet* p) { delete p; });
        std::printf("new/delete %d %.2f\n", r, t);

        FixedPool<Packet> pool(1024);
        t = run(w, [&](std::uint64_t i) { return pool.create(i); }, [&](Packet* p) { pool.destroy(p); });
        std::printf("FixedPool %d %.2f\n", r, t);

        std::pmr::unsynchronized_pool_resource pmr_pool;
        t = run(
            w,
            [&](std::uint64_t i) { return new (pmr_pool.allocate(sizeof(Packet), alignof(Packet))) Packet(i); },
            [&](Packet* p) {
                p->~Packet();
                pmr_pool.deallocate(p, sizeof(Packet), alignof(Packet));
            });
        std::printf("pmr::unsynchronized_pool_resource %d %.2f\n", r, t);

        std::pmr::monotonic_buffer_resource mono;
        t = run(
            w,
            [&](std::uint64_t i) { return new (mono.allocate(sizeof(Packet), alignof(Packet))) Packet(i); },
            [&](Packet* p) { p->~Packet(); });  // deallocate is a no-op: memory returns with the resource
        std::printf("pmr::monotonic_buffer_resource %d %.2f\n", r, t);
    }
    return 0;
}

static int check() {
    FixedPool<Packet> pool(3);
    Packet* a = pool.create(1);
    Packet* b = pool.create(2);
    assert(pool.owns(a) && pool.owns(b) && a != b && pool.in_use() == 2);
    assert(a->id == 1 && b->length == 36);
    pool.destroy(a);
    Packet* c = pool.create(3);
    assert(c == a && c->id == 3);  // LIFO: the slot freed last is handed out first
    Packet* d = pool.create(4);
    bool refused = false;
    try {
        pool.create(5);
    } catch (const std::bad_alloc&) {
        refused = true;  // capacity 3: the fourth object does not fit
    }
    assert(refused && pool.in_use() == 3);
    pool.destroy(b), pool.destroy(c), pool.destroy(d);
    assert(pool.in_use() == 0);

    std::list<int, PoolAllocator<int>> numbers;
    for (int i = 0; i < 1000; ++i) numbers.push_back(i);
    long sum = 0;
    for (int v : numbers) sum += v;
    assert(sum == 999L * 1000 / 2);
    numbers.clear();

    std::vector<int, PoolAllocator<int>> v;  // arrays fall back to operator new
    for (int i = 0; i < 100; ++i) v.push_back(i);
    assert(v[99] == 99);

    char buffer[4096];
    std::pmr::monotonic_buffer_resource mono(buffer, sizeof buffer);
    std::pmr::vector<int> pv(&mono);
    for (int i = 0; i < 100; ++i) pv.push_back(i);
    std::pmr::unsynchronized_pool_resource pools;
    std::pmr::list<Packet> packets(&pools);
    for (int i = 0; i < 100; ++i) packets.emplace_back(static_cast<std::uint64_t>(i));
    assert(pv.size() == 100 && packets.size() == 100);
    std::puts("check ok: FixedPool (placement new, LIFO reuse, fixed capacity), PoolAllocator with std::list and "
              "std::vector, pmr monotonic and pool resources");
    return 0;
}

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--check") == 0) return check();
    if (argc >= 2 && std::strcmp(argv[1], "--bench") == 0) {
        std::size_t n = argc >= 3 ? std::strtoul(argv[2], nullptr, 10) : 200000;
        int rounds = argc >= 4 ? std::atoi(argv[3]) : 7;
        if (n == 0 || rounds <= 0) {
            std::fprintf(stderr, "usage: pools --bench N ROUNDS (N > 0, ROUNDS > 0)\n");
            return 2;
        }
        return bench(n, rounds);
    }
    std::fprintf(stderr, "usage: pools --check | --bench N ROUNDS\n");
    return 2;
}
