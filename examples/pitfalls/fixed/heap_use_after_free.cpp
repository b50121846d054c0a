// Fixed: one owner (std::unique_ptr); the value is read while the object lives.
#include <cstdio>
#include <memory>

struct Node {
    int value;
};

int main()
{
    auto n = std::make_unique<Node>(Node{42});
    std::printf("%d\n", n->value);
    return 0;  // the object is deleted here, once, by its owner
}
