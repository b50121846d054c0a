// Pitfall: two objects own each other through shared_ptr: neither count reaches zero.
#include <memory>
#include <thread>

struct Node {
    std::shared_ptr<Node> other;
};

static void make_pair()
{
    auto a = std::make_shared<Node>();
    auto b = std::make_shared<Node>();
    a->other = b;
    b->other = a;  // a cycle: when a and b go out of scope, each count stays at 1
}

int main()
{
    std::thread t(make_pair);  // (in a thread, whose stack is gone when LeakSanitizer looks)
    t.join();
    return 0;
}
