// Fixed: the counter is a std::atomic (a std::mutex around the increment works too).
#include <atomic>
#include <cstdio>
#include <thread>

static std::atomic<long> counter{0};

static void work()
{
    for (int i = 0; i < 100000; i++)
        counter.fetch_add(1, std::memory_order_relaxed);
}

int main()
{
    std::thread a(work), b(work);
    a.join();
    b.join();
    std::printf("%ld\n", counter.load());
    return 0;
}
