// Fixed: keep an index, not an iterator, across a push_back that may reallocate.
#include <cstdio>
#include <vector>

int main()
{
    std::vector<int> v = {1, 2, 3};
    std::size_t first = 0;
    v.push_back(4);
    std::printf("%d\n", v[first]);
    return 0;
}
