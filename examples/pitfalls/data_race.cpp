// Pitfall: two threads increment a shared counter without a lock.
#include <cstdio>
#include <thread>

static volatile long counter = 0;  // volatile is not a lock

static void work()
{
    for (int i = 0; i < 100000; i++)
        counter = counter + 1;
}

int main()
{
    std::thread a(work), b(work);
    a.join();
    b.join();
    std::printf("%ld\n", counter);
    return 0;
}
