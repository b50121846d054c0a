// Fixed: std::unique_ptr cannot be copied, and a move says so (std::move).
#include <cstdio>
#include <memory>
#include <utility>

int main()
{
    std::unique_ptr<int> a(new int(7));
    std::unique_ptr<int> b = std::move(a);  // a is null, and the code says it
    std::printf("%d\n", *b);
    return 0;
}
