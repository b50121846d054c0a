// Fixed: one direction of the cycle is a weak_ptr, which does not own.
#include <memory>

struct Node {
    std::shared_ptr<Node> other;
    std::weak_ptr<Node> back;
};

int main()
{
    auto a = std::make_shared<Node>();
    auto b = std::make_shared<Node>();
    a->other = b;
    b->back = a;  // no ownership: a's count is 1, and it falls to 0 at the end of main
    return 0;
}
